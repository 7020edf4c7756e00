package app

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/runner"
)

// runWorker runs the Temporal worker until ctx ends, and serves its metrics
// and health on METRICS_ADDR. Many may run. Unless OUTBOX_STARTER=api
// (WorkersStart) it also runs an outbox starter, woken by the api
// processes' rings, whose starts are eager: their first workflow task comes
// back to this worker with the start.
func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	ln, err := listenHTTP(cfg.MetricsAddr, "metrics, METRICS_ADDR")
	if err != nil {
		return err
	}
	defer ln.Close()
	conn, err := connect(ctx, cfg, cfg.DatabaseURL, false, log)
	if err != nil {
		return err
	}
	defer conn.close()
	s, c := conn.store, conn.client
	if err := runner.CheckSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	if err := runner.EnsureSchedules(ctx, c, cfg.TaskQueue, log); err != nil {
		return err
	}
	ready := func(ctx context.Context) (down []string) {
		if err := s.Ping(ctx); err != nil {
			down = append(down, "database")
		}
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			down = append(down, "temporal")
		} else if err := runner.CheckNamespace(ctx, c, cfg.TemporalNamespace); err != nil {
			down = append(down, "temporal")
		}
		return down
	}
	log.Info("worker running", "task_queue", cfg.TaskQueue, "namespace", cfg.TemporalNamespace, "metrics", "http://"+ln.Addr().String()+"/metrics",
		"starts_deliveries", cfg.WorkersStart())
	g, gctx := errgroup.WithContext(ctx)
	p := conn.parts(cfg, log)
	if cfg.WorkersStart() {
		starter := p.NewStarter(dispatch.StarterOptions{Window: cfg.StartWindow, MinWindow: cfg.StartWindowMin})
		runStarterThenWorker(gctx, g, starter, p.NewWorker())
		g.Go(func() error { starter.Listen(gctx, s); return nil })
	} else {
		g.Go(func() error { return runTemporalWorker(gctx, p.NewWorker()) })
	}
	g.Go(func() error {
		return serveHTTP(gctx, ln, metricsHandler(conn.metrics, ready), log, "metrics, METRICS_ADDR")
	})
	return g.Wait()
}
