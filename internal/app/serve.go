package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/dispatch"
)

// listenHTTP binds addr before anything else starts, so that a port in
// use is the only complaint (not one after the database and Temporal
// connections have logged theirs). what names the server and its variable.
func listenHTTP(addr, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, what, err)
	}
	return ln, nil
}

// serveHTTP serves h on ln until ctx ends, then drains for up to 10s.
// what names the server and its variable in messages.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, what string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "server", what, "addr", "http://"+ln.Addr().String())
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

// runTemporalWorker runs w until ctx ends. A fatal worker error (the
// namespace is gone, credentials are refused) ends it with that error, so
// that the process exits instead of staying up and doing nothing. In-flight
// tasks finish before it returns; unfinished ones are retried elsewhere.
func runTemporalWorker(ctx context.Context, w worker.Worker) error {
	interrupt := make(chan any)
	go func() { <-ctx.Done(); close(interrupt) }()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("temporal worker stopped: %w", err)
	}
	return nil
}

// runStarterThenWorker runs starter and w in g, both until ctx ends, the
// worker only until the starter has stopped: a start made while the worker
// stopped would hand it a task it no longer runs (eager), which then waits
// out its timeout before another worker gets it. A fatal worker error
// still ends everything (g cancels ctx).
func runStarterThenWorker(ctx context.Context, g *errgroup.Group, starter *dispatch.Starter, w worker.Worker) {
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { defer stopWorker(); starter.Run(ctx); return nil })
	g.Go(func() error { defer stopWorker(); return runTemporalWorker(workerCtx, w) })
}
