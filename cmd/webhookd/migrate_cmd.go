package main

import (
	"context"
	"log/slog"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/temporalsetup"
)

// runMigrate brings the database schema up to date and registers the
// Temporal search attributes and schedules, then exits.
func runMigrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	s, err := openStore(ctx, cfg.DatabaseURL, log, true)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := temporalsetup.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	if err := temporalsetup.EnsureSchedules(ctx, c, cfg.TaskQueue); err != nil {
		return err
	}
	log.Info("migrate: schema, search attributes and schedules are current")
	return nil
}
