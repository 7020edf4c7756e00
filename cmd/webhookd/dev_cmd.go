package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/temporalsetup"
)

// runDev runs everything in one process: an embedded Temporal server with its
// Web UI (state under DATA_DIR), the database (DATABASE_URL, or SQLite under
// DATA_DIR), a worker and the API. Ctrl-C stops them in reverse order.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	ts, err := devserver.Start(ctx, devserver.Options{
		FrontendAddr:     cfg.TemporalAddress,
		UIAddr:           cfg.TemporalUIAddr,
		DatabaseFile:     filepath.Join(cfg.DataDir, "temporal.db"),
		Namespace:        cfg.TemporalNamespace,
		SearchAttributes: temporalsetup.SearchAttributeTypes(),
		Logger:           log,
		ServerLogLevel:   slog.LevelWarn,
	})
	if err != nil {
		return err
	}
	defer ts.Stop()

	databaseURL := cfg.DatabaseURL
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "webhookd.db")
	}
	s, err := openStore(ctx, databaseURL, log, true) // dev migrates by itself: zero setup
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

	d := newDispatcher(s, c, cfg, log)
	w := newWorker(c, s, d, cfg)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	h, err := newAPI(s, c, d, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "webhookd dev is up:\n  API            http://%s/api/v1\n  Temporal       %s\n  Temporal UI    http://%s\n  database       %s\n",
		cfg.HTTPAddr, ts.FrontendAddr(), ts.UIAddr(), s.Dialect())
	err = serveHTTP(ctx, cfg.HTTPAddr, h, log)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
