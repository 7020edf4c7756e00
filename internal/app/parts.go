package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
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
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/workflows"
)

// Parts is webhookd assembled on one database and one Temporal client, as
// `api`, `worker` and `dev` run it: ingest (with this process's matcher),
// the webhooks and event types services, the dispatcher and the runner it
// reaches Temporal through. End-to-end tests assemble the same parts.
type Parts struct {
	Ingester   *ingest.Ingester
	Webhooks   *webhooks.Service
	EventTypes *eventtypes.Service
	Dispatcher *dispatch.Dispatcher
	// Temporal is the Runner over the client; the dispatcher uses it unless
	// NewParts was given another.
	Temporal *runner.Temporal

	store   *store.Store
	client  client.Client
	cfg     config.Config
	log     *slog.Logger
	metrics *Metrics
	tracer  tracing.Tracer
}

// Trace records spans with tp (ingest, workflow starts, attempts); nil
// tp is tracing off, the default. Call it before NewWorker and NewAPI.
func (p *Parts) Trace(tp trace.TracerProvider) {
	p.tracer = tracing.From(tp)
	p.Dispatcher.Tracer = p.tracer
}

// NewParts assembles the parts on s and c. The dispatcher runs workflows
// through runs, or through c when runs is nil (tests wrap the runner).
func NewParts(s *store.Store, c client.Client, cfg config.Config, log *slog.Logger, m *Metrics, runs dispatch.Runner) *Parts {
	// Its health check (readiness) covers the namespace too.
	t := runner.New(runner.WithNamespaceHealth(c, cfg.TemporalNamespace), cfg.TaskQueue)
	if runs == nil {
		runs = t
	}
	matcher := ingest.NewMatcher(s, ingest.DefaultMatcherMaxAge)
	matcher.Log = log
	d := dispatch.New(s, runs, matcher, log)
	d.Poster = newPoster(cfg, log)
	d.WakeUps = m.deliveryMetrics()
	s.SetSequenceWaker(d.Wake) // an ordered delivery settled: its sequence's next may start
	hooks := webhooks.New(s, matcher, d)
	hooks.AllowPrivate, hooks.MaxPerTenant = cfg.AllowPrivateEndpoints, cfg.TenantMaxWebhooks
	in := ingest.New(s, matcher, d)
	in.EventsPerSecond = cfg.TenantEventsPerSecond
	in.Validator.Log = log
	types := eventtypes.New(s)
	types.MaxPerTenant = cfg.TenantMaxEventTypes
	return &Parts{Ingester: in, Webhooks: hooks, EventTypes: types, Dispatcher: d, Temporal: t,
		store: s, client: c, cfg: cfg, log: log, metrics: m}
}

// NewStarter returns the outbox starter. Every part wakes it through the
// dispatcher it was built with: this process's ingest, resumed webhooks and
// replays.
func (p *Parts) NewStarter(o dispatch.StarterOptions) *dispatch.Starter {
	st := p.Dispatcher.NewStarter(p.Ingester, o)
	if p.metrics != nil {
		if err := telemetry.RegisterStartWindow(p.metrics.Registry, st.WindowSize); err != nil {
			// A second starter of this process: the first one's shows.
			if p.log != nil {
				p.log.Warn("register webhookd_start_window", "error", err)
			}
		}
	}
	return st
}

// NewWorker builds the Temporal worker with every workflow and activity.
func (p *Parts) NewWorker() worker.Worker {
	cfg, s, d := p.cfg, p.store, p.Dispatcher
	// Process-wide, and read when the first worker starts; without it
	// the cache grows to 10,000 workflows as retries pile up.
	worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheSize)
	w := worker.New(p.client, cfg.TaskQueue, worker.Options{
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
	workflows.Register(w)
	activities.Register(w,
		&activities.Sender{Store: s, Poster: d.Poster, Metrics: p.metrics.deliveryMetrics(), Tracer: p.tracer, Log: p.log,
			Shares: &activities.TenantShares{Slots: cfg.WorkerConcurrency}, Waker: d},
		&activities.Recorder{Store: s, Stopper: d},
		&activities.Maintenance{Dispatcher: d, Store: s, RetentionDays: cfg.RetentionDays},
		&activities.DeadLetters{Dispatcher: d, Store: s},
	)
	return w
}

// APIOptions tune NewAPI.
type APIOptions struct {
	// GaugeMaxAge is how stale the delivery gauges may be (the commands
	// take 15 s); zero reads the database at every scrape.
	GaugeMaxAge time.Duration
	// DLQPace is the pace of bulk replays; zero takes the default.
	DLQPace dispatch.DLQPace
}

// NewAPI builds the REST API with the console, its metrics on the
// process's registry.
func (p *Parts) NewAPI(o APIOptions) (http.Handler, error) {
	cfg := p.cfg
	if err := telemetry.RegisterDeliveryGauges(p.metrics.Registry, p.store, o.GaugeMaxAge); err != nil {
		return nil, err
	}
	deps := api.Deps{
		Logger: p.log, Store: p.store, Ingester: p.Ingester, Webhooks: p.Webhooks, EventTypes: p.EventTypes, Dispatcher: p.Dispatcher,
		Temporal: p.Temporal, Metrics: p.metrics.Registry, APIToken: cfg.APIToken, DLQPace: o.DLQPace,
		Console: consoleFor(cfg, p.log, p.store), Tracer: p.tracer,
		Hosts: api.HostRule{Names: cfg.AllowedHosts, Any: cfg.AllowAnyHost},
	}
	if len(cfg.TenantTokenKeys) > 0 {
		tokens, err := tenancy.NewTokens(nil, cfg.TenantTokenKeys...)
		if err != nil {
			return nil, fmt.Errorf("TENANT_TOKEN_KEY: %w", err)
		}
		deps.Tokens = tokens
	}
	return api.NewServer(deps)
}

// newPoster builds what sends requests to receivers: the SSRF-safe client
// (through EGRESS_PROXY when set).
func newPoster(cfg config.Config, log *slog.Logger) *deliver.Poster {
	opts := safehttp.Options{AllowPrivate: cfg.AllowPrivateEndpoints, Proxy: cfg.EgressProxy}
	return &deliver.Poster{
		Client: safehttp.NewClient(opts),
		// A webhook with a client certificate gets a client of its own,
		// with the same address checks and proxy.
		ClientWith: func(c *tls.Config) *http.Client {
			o := opts
			o.TLS = c
			return safehttp.NewClient(o)
		},
		Version: Version,
		Now:     func() time.Time { return time.Now().UTC() },
		Log:     log,
	}
}

// consoleFor builds the web console the API mounts at /console/. Sessions
// are sealed with the secrets keyring, which every replica shares, and
// sign-outs are kept in the database, which they share too.
func consoleFor(cfg config.Config, log *slog.Logger, s *store.Store) func(http.Handler) (http.Handler, error) {
	return func(apiHandler http.Handler) (http.Handler, error) {
		if cfg.Keyring == nil {
			return nil, errors.New("console: no keyring to seal sessions with (ENCRYPTION_KEYS)")
		}
		return console.New(console.Deps{
			Logger: log, API: apiHandler, Sealer: cfg.Keyring, Revocations: s,
			WorkflowURL:    runner.DeliveryLinks(cfg.TemporalUIURL, cfg.TemporalNamespace),
			FrameAncestors: cfg.ConsoleFrameAncestors,
		})
	}
}
