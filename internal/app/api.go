package app

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/runner"
)

// backstopPoll is how often an api that leaves the starts to the workers
// (!APIStarts) looks for deliveries no worker started, and how long one
// must have waited for it to start them: the workers' starts are the fast
// ones (eager).
const backstopPoll = 15 * time.Second

// runAPI serves the REST API until ctx ends. When APIStarts
// (OUTBOX_STARTER=api, or API_WORKER=true under auto) it also runs the
// outbox starter, which starts the workflows of the deliveries ingest
// commits; with API_WORKER a worker too, so that those workflows begin in
// this process without a poll round trip (eager start). Otherwise the
// workers start them, eagerly, and this process only wakes their starters
// and keeps a backstop.
func runAPI(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.APIToken == "" {
		log.Warn("API_TOKEN is empty and API_OPEN=true: the API accepts unauthenticated requests as the admin" +
			" (tenant tokens confine only those who present them)")
	}
	ln, err := listenHTTP(cfg.HTTPAddr, "API, HTTP_ADDR")
	if err != nil {
		return err
	}
	defer ln.Close()
	conn, err := connect(ctx, cfg, cfg.DatabaseURL, false, log)
	if err != nil {
		return err
	}
	defer conn.close()
	if cfg.APIWorker {
		if err := runner.CheckSearchAttributes(ctx, conn.client, cfg.TemporalNamespace); err != nil {
			return err
		}
	}
	p := conn.parts(cfg, log)
	h, err := p.NewAPI(APIOptions{GaugeMaxAge: 15 * time.Second})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	starting := dispatch.StarterOptions{Window: cfg.StartWindow, MinWindow: cfg.StartWindowMin}
	if !cfg.APIStarts() {
		g.Go(func() error { p.Dispatcher.RingStarters(gctx, conn.store); return nil })
		// A backstop: should no worker start deliveries (its setting
		// differs, or a rollout switching it has stopped the old
		// starters before the new ones run), they still go out, late.
		starting.Poll, starting.Backstop = backstopPoll, true
	}
	starter := p.NewStarter(starting)
	log.Info("api running", "outbox_starter", cfg.OutboxStarter, "starts_deliveries", cfg.APIStarts(), "worker", cfg.APIWorker)
	if cfg.APIWorker {
		runStarterThenWorker(gctx, g, starter, p.NewWorker())
	} else {
		g.Go(func() error { starter.Run(gctx); return nil })
	}
	g.Go(func() error { p.Ingester.RunCounts(gctx, ingest.DefaultCountsEvery, log); return nil })
	g.Go(func() error { return serveHTTP(gctx, ln, h, log, "API, HTTP_ADDR") })
	return g.Wait()
}
