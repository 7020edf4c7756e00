package main

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/runner"
)

// runWorker runs the Temporal worker until ctx ends, and serves its metrics
// and health on METRICS_ADDR. Many may run.
func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	s, err := openStore(ctx, cfg.DatabaseURL, log, false, cfg.Keyring)
	if err != nil {
		return err
	}
	defer s.Close()
	m, err := newProcessMetrics(log)
	if err != nil {
		return err
	}
	c, err := dialTemporal(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := runner.EnsureSchedules(ctx, c, cfg.TaskQueue); err != nil {
		return err
	}
	ready := func(ctx context.Context) error {
		if err := s.Ping(ctx); err != nil {
			return err
		}
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
	log.Info("worker running", "task_queue", cfg.TaskQueue, "namespace", cfg.TemporalNamespace, "metrics", "http://"+cfg.MetricsAddr+"/metrics")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runTemporalWorker(gctx, newWorker(c, s, newParts(s, c, nil, cfg, log), cfg, m)) })
	g.Go(func() error {
		return serveHTTP(gctx, cfg.MetricsAddr, metricsHandler(m, ready), log, "metrics, METRICS_ADDR")
	})
	return g.Wait()
}
