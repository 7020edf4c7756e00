package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/webhookd/webhookd/activities"
	"github.com/webhookd/webhookd/api"
	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/console"
	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/eventtypes"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/workflows"
)

// openStore connects to the database and checks (or, with migrate, brings)
// the schema up to date.
func openStore(ctx context.Context, databaseURL string, log *slog.Logger, migrate bool, keys *secrets.Keyring) (*store.Store, error) {
	s, err := store.Open(ctx, databaseURL, log)
	if err != nil {
		return nil, err
	}
	if keys != nil {
		s.UseKeyring(keys)
	}
	if migrate {
		n, err := s.Migrate(ctx)
		if err != nil {
			s.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("database migrated", "migrations", n, "dialect", s.Dialect())
		}
		return s, nil
	}
	if err := s.RequireCurrentSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// parts are what api, dev and worker build alike: ingest (with this
// process's matcher), the webhooks and event types services, the
// dispatcher, and the runner it reaches Temporal through.
type parts struct {
	ingester   *ingest.Ingester
	webhooks   *webhooks.Service
	eventTypes *eventtypes.Service
	dispatcher *dispatch.Dispatcher
	temporal   *runner.Temporal
}

// newParts assembles the parts on s and c. The dispatcher runs workflows
// through runs, or through c when runs is nil.
func newParts(s *store.Store, c client.Client, runs dispatch.Runner, cfg config.Config, log *slog.Logger) *parts {
	t := runner.New(c, cfg.TaskQueue)
	if runs == nil {
		runs = t
	}
	m := ingest.NewMatcher(s, ingest.DefaultMatcherMaxAge)
	m.Log = log
	d := dispatch.New(s, runs, m, log)
	d.Poster = newPoster(cfg)
	hooks := webhooks.New(s, m, d)
	hooks.AllowPrivate = cfg.AllowPrivateEndpoints
	in := ingest.New(s, m)
	in.Validator.Log = log
	return &parts{ingester: in, webhooks: hooks, eventTypes: eventtypes.New(s), dispatcher: d, temporal: t}
}

// newStarter returns the outbox starter, woken by this process's ingest
// and by resumed webhooks.
func (p *parts) newStarter(o dispatch.StarterOptions) *dispatch.Starter {
	st := p.dispatcher.NewStarter(p.ingester, o)
	p.ingester.Starter, p.webhooks.Starter = st, st
	return st
}

// dialTemporal connects to Temporal; m, when set, receives the SDK's own
// metrics.
func dialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, m *processMetrics) (client.Client, error) {
	var sdkMetrics client.MetricsHandler
	if m != nil {
		sdkMetrics = m.temporal
	}
	return runner.Dial(ctx, cfg, log, sdkMetrics)
}

// newPoster builds what sends requests to receivers: the SSRF-safe client
// (through EGRESS_PROXY when set).
func newPoster(cfg config.Config) *deliver.Poster {
	return &deliver.Poster{
		Client:  safehttp.NewClient(safehttp.Options{AllowPrivate: cfg.AllowPrivateEndpoints, Proxy: cfg.EgressProxy}),
		Version: version,
		Now:     func() time.Time { return time.Now().UTC() },
	}
}

// runTemporalWorker runs w until ctx ends. A fatal worker error (the
// namespace is gone, credentials are refused) ends it with that error, so
// that the process exits instead of staying up and doing nothing. In-flight
// tasks finish before it returns; unfinished ones are retried elsewhere.
func runTemporalWorker(ctx context.Context, w worker.Worker) error {
	interrupt := make(chan any)
	go func() { <-ctx.Done(); close(interrupt) }()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("temporal worker stopped: %w", err)
	}
	return nil
}

// newWorker builds the Temporal worker with every workflow and activity; m,
// when set, receives the delivery metrics.
func newWorker(c client.Client, s *store.Store, p *parts, cfg config.Config, m *processMetrics) worker.Worker {
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		// Attempts run as local activities inside workflow tasks, so both
		// limits bound concurrent POSTs.
		MaxConcurrentLocalActivityExecutionSize: cfg.WorkerConcurrency,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.WorkerConcurrency,
		MaxConcurrentActivityExecutionSize:      16,
		// A task queue has several partitions (4 by default); with the SDK's
		// default two workflow-task pollers, tasks could sit up to a minute
		// in a partition no poller was on. Autoscaling pollers keep a poll
		// on every partition and add more under load.
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			InitialNumberOfPollers: 8, MinimumNumberOfPollers: 4, MaximumNumberOfPollers: 64,
		}),
		ActivityTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			InitialNumberOfPollers: 4, MinimumNumberOfPollers: 2, MaximumNumberOfPollers: 16,
		}),
	})
	d := p.dispatcher
	workflows.Register(w)
	activities.Register(w,
		&activities.Sender{Store: s, Poster: d.Poster, Metrics: m.deliveryMetrics()},
		&activities.Recorder{Store: s, Stopper: d},
		&activities.Maintenance{Dispatcher: d, Store: s, RetentionDays: cfg.RetentionDays},
		&activities.DeadLetters{Dispatcher: d, Store: s},
	)
	return w
}

func newAPI(s *store.Store, p *parts, cfg config.Config, log *slog.Logger, m *processMetrics) (http.Handler, error) {
	if err := telemetry.RegisterDeliveryGauges(m.registry, s, 15*time.Second); err != nil {
		return nil, err
	}
	deps := api.Deps{
		Logger: log, Store: s, Ingester: p.ingester, Webhooks: p.webhooks, EventTypes: p.eventTypes,
		Dispatcher: p.dispatcher, Temporal: p.temporal,
		Metrics: m.registry, APIToken: cfg.APIToken,
	}
	if len(cfg.TenantTokenKeys) > 0 {
		tokens, err := tenancy.NewTokens(nil, cfg.TenantTokenKeys...)
		if err != nil {
			return nil, fmt.Errorf("TENANT_TOKEN_KEY: %w", err)
		}
		deps.Tokens = tokens
	}
	deps.Console = consoleFor(cfg, log)
	return api.NewServer(deps)
}

// consoleFor builds the web console the API mounts at /console/. Sessions
// are sealed with the secrets keyring, which every replica shares.
func consoleFor(cfg config.Config, log *slog.Logger) func(http.Handler) (http.Handler, error) {
	return func(apiHandler http.Handler) (http.Handler, error) {
		if cfg.Keyring == nil {
			return nil, errors.New("console: no keyring to seal sessions with (ENCRYPTION_KEYS)")
		}
		return console.New(console.Deps{
			Logger: log, API: apiHandler, Sealer: cfg.Keyring,
			WorkflowURL:    runner.DeliveryLinks(cfg.TemporalUIURL, cfg.TemporalNamespace),
			FrameAncestors: cfg.ConsoleFrameAncestors,
		})
	}
}

// serveHTTP serves h on addr until ctx ends, then drains for up to 10s.
// what names the server and its variable in messages.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (%s): %w", addr, what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "server", what, "addr", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
