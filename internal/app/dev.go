package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/keyfile"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/internal/tenancy"
)

// runDev runs everything in one process: an embedded Temporal server with its
// Web UI (state under DATA_DIR), the database (DATABASE_URL, or SQLite under
// DATA_DIR), a worker and the API. Ctrl-C stops them in reverse order.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	ln, err := listenHTTP(cfg.HTTPAddr, "API, HTTP_ADDR")
	if err != nil {
		return err
	}
	defer ln.Close()
	// The embedded server's own log is noise to a newcomer (its start-up
	// warnings, its errors while it shuts down): shown only when debugging.
	serverLog := slog.LevelError + 8
	if cfg.LogLevel <= slog.LevelDebug {
		serverLog = slog.LevelDebug
	}
	ts, err := devserver.Start(ctx, devserver.Options{
		FrontendAddr:     cfg.TemporalAddress,
		UIAddr:           cfg.TemporalUIAddr,
		DatabaseFile:     filepath.Join(cfg.DataDir, "temporal.db"),
		Namespace:        cfg.TemporalNamespace,
		SearchAttributes: runner.SearchAttributeTypes(),
		Logger:           log,
		ServerLogLevel:   serverLog,
	})
	if err != nil {
		return err
	}
	defer ts.Stop()

	databaseURL := cfg.DatabaseURL
	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(cfg.DataDir, "webhookd.db")
	}
	if cfg.Keyring == nil {
		// Zero setup: webhook secrets are encrypted with a key kept under
		// DATA_DIR (keep it with the data: without it they cannot be read).
		path := filepath.Join(cfg.DataDir, "secrets.keyring")
		spec, created, err := secrets.LoadOrCreateKeyFile(path)
		if err != nil {
			return fmt.Errorf("encryption key: %w", err)
		}
		if created {
			log.Info("generated an encryption key for webhook secrets", "file", path)
		}
		if cfg.Keyring, err = secrets.ParseKeyring(spec); err != nil {
			return fmt.Errorf("encryption key %s: %w", path, err)
		}
	}
	conn, err := connect(ctx, cfg, databaseURL, true, log) // dev migrates by itself: zero setup
	if err != nil {
		return err
	}
	defer conn.close()
	s, c := conn.store, conn.client
	if n, err := s.EncryptSecrets(ctx, true); err != nil {
		return fmt.Errorf("encrypt webhook secrets: %w", err)
	} else if n > 0 {
		log.Info("encrypted webhook secrets", "webhooks", n)
	}
	if err := runner.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	if err := runner.EnsureSchedules(ctx, c, cfg.TaskQueue, log); err != nil {
		return err
	}

	if len(cfg.TenantTokenKeys) == 0 {
		// Zero setup: a signing key kept under DATA_DIR, so tenant tokens
		// survive restarts.
		key, created, err := keyfile.LoadOrCreate(filepath.Join(cfg.DataDir, "tenant-token.key"), tenancy.GenerateKey)
		if err != nil {
			return fmt.Errorf("tenant token key: %w", err)
		}
		if created {
			log.Info("generated a tenant-token signing key", "file", filepath.Join(cfg.DataDir, "tenant-token.key"))
		}
		cfg.TenantTokenKeys = []string{key}
	}

	if cfg.APIToken == "" {
		log.Info("no API_TOKEN: requests without credentials act as the admin; tenant tokens confine only those who present them")
	}
	p := conn.parts(cfg, log)
	h, err := p.NewAPI(APIOptions{GaugeMaxAge: 15 * time.Second})
	if err != nil {
		return err
	}
	printDevBanner(stdout, devBanner{
		HTTPAddr: ln.Addr().String(), TemporalAddr: ts.FrontendAddr(), UIAddr: ts.UIAddr(),
		Namespace: cfg.TemporalNamespace, TaskQueue: cfg.TaskQueue, Database: databaseName(databaseURL),
	})
	// The worker, the outbox starter and the API run together; the first
	// to fail (a fatal worker error, a port in use) stops the others.
	starter := p.NewStarter(dispatch.StarterOptions{Window: cfg.StartWindow, MinWindow: cfg.StartWindowMin})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runTemporalWorker(gctx, p.NewWorker()) })
	g.Go(func() error { starter.Run(gctx); return nil })
	g.Go(func() error { p.Ingester.RunCounts(gctx, ingest.DefaultCountsEvery, log); return nil })
	g.Go(func() error { return serveHTTP(gctx, ln, h, log, "API, HTTP_ADDR") })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
