package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/webhookd/webhookd/activities"
	"github.com/webhookd/webhookd/api"
	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/workflows"
)

// openStore connects to the database and checks (or, with migrate, brings)
// the schema up to date.
func openStore(ctx context.Context, databaseURL string, log *slog.Logger, migrate bool) (*store.Store, error) {
	s, err := store.Open(ctx, databaseURL, log)
	if err != nil {
		return nil, err
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

func dialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	return c, nil
}

func newDispatcher(s *store.Store, c client.Client, cfg config.Config, log *slog.Logger) *dispatch.Dispatcher {
	return &dispatch.Dispatcher{Store: s, Temporal: c, TaskQueue: cfg.TaskQueue, Logger: log}
}

// newWorker builds the Temporal worker with every workflow and activity.
func newWorker(c client.Client, s *store.Store, d *dispatch.Dispatcher, cfg config.Config) worker.Worker {
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		// Attempts run as local activities inside workflow tasks, so both
		// limits bound concurrent POSTs.
		MaxConcurrentLocalActivityExecutionSize: cfg.WorkerConcurrency,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.WorkerConcurrency,
		MaxConcurrentActivityExecutionSize:      16,
	})
	workflows.Register(w)
	activities.Register(w,
		&activities.Sender{
			Store:   s,
			Client:  safehttp.NewClient(safehttp.Options{AllowPrivate: cfg.AllowPrivateEndpoints}),
			Version: version,
			Now:     func() time.Time { return time.Now().UTC() },
		},
		&activities.Recorder{Store: s},
		&activities.Maintenance{Dispatcher: d, Store: s, RetentionDays: cfg.RetentionDays},
		&activities.DeadLetters{Dispatcher: d, Store: s},
	)
	return w
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func newAPI(s *store.Store, c client.Client, d *dispatch.Dispatcher, cfg config.Config, log *slog.Logger) (http.Handler, error) {
	return api.NewServer(api.Deps{
		Logger: log, Store: s, Dispatcher: d, Temporal: c, Metrics: newRegistry(),
		APIToken: cfg.APIToken, AllowPrivateEndpoints: cfg.AllowPrivateEndpoints,
	})
}

// serveHTTP serves h on addr until ctx ends, then drains for up to 10s.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (HTTP_ADDR): %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("API listening", "addr", "http://"+ln.Addr().String())
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
