package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/runner"
)

// runMigrate brings the database schema up to date, encrypts any webhook
// secret stored in the clear (and, with reencrypt, re-encrypts those under a
// key other than ENCRYPTION_KEYS' first, so that old keys can be removed),
// and registers the Temporal search attributes and schedules, then exits.
func runMigrate(ctx context.Context, cfg config.Config, log *slog.Logger, reencrypt bool) error {
	s, err := OpenStore(ctx, cfg.DatabaseURL, log, true, cfg.Keyring)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.EncryptSecrets(ctx, reencrypt)
	if err != nil {
		return fmt.Errorf("encrypt webhook secrets: %w", err)
	}
	log.Info("migrate: webhook secrets encrypted", "rewritten", n, "current_key", cfg.Keyring.CurrentID(), "reencrypt", reencrypt)
	c, err := DialTemporal(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := runner.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	if err := runner.EnsureSchedules(ctx, c, cfg.TaskQueue, log); err != nil {
		return err
	}
	log.Info("migrate: schema, search attributes and schedules are current")
	return nil
}
