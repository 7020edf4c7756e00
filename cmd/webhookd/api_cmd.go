package main

import (
	"context"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/ingest"
)

// runAPI serves the REST API until ctx ends. It also runs the outbox
// starter, which starts the workflows of the deliveries ingest commits, and,
// with API_WORKER=true, a worker, so that those workflows begin in this
// process without a poll round trip (eager start).
func runAPI(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.APIToken == "" {
		log.Warn("API_TOKEN is empty and API_OPEN=true: the API accepts unauthenticated requests as the admin" +
			" (tenant tokens confine only those who present them)")
	}
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
	p := newParts(s, c, nil, cfg, log)
	h, err := newAPI(s, p, cfg, log, m)
	if err != nil {
		return err
	}
	starter := p.newStarter(dispatch.StarterOptions{Window: cfg.StartWindow})
	g, gctx := errgroup.WithContext(ctx)
	if cfg.APIWorker {
		g.Go(func() error { return runTemporalWorker(gctx, newWorker(c, s, p, cfg, m)) })
	}
	g.Go(func() error { starter.Run(gctx); return nil })
	g.Go(func() error { p.ingester.RunCounts(gctx, ingest.DefaultCountsEvery, log); return nil })
	g.Go(func() error { return serveHTTP(gctx, cfg.HTTPAddr, h, log, "API, HTTP_ADDR") })
	return g.Wait()
}
