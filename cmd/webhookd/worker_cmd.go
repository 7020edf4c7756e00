package main

import (
	"context"
	"log/slog"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/temporalsetup"
)

// runWorker runs the Temporal worker until ctx ends. Many may run.
func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	s, err := openStore(ctx, cfg.DatabaseURL, log, false)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := temporalsetup.EnsureSchedules(ctx, c, cfg.TaskQueue); err != nil {
		return err
	}
	w := newWorker(c, s, newDispatcher(s, c, cfg, log), cfg)
	if err := w.Start(); err != nil {
		return err
	}
	log.Info("worker running", "task_queue", cfg.TaskQueue, "namespace", cfg.TemporalNamespace)
	<-ctx.Done()
	w.Stop() // waits for in-flight tasks; unfinished ones are retried elsewhere
	return nil
}
