package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// Starter starts the workflows of deliveries that ingest committed to the
// outbox, oldest first. It is admission control for Temporal: it keeps at
// most Window deliveries started but not yet attempted (counted in the
// database, so across every api replica), because a Temporal server fed
// faster than it can run workflows gets slower, not faster. Replicas share
// the outbox without double starts (rows are claimed with SKIP LOCKED, and a
// first start of a delivery id that already has a run is a no-op). A crash
// at any moment loses nothing: a claimed row whose start never happened is
// found by the reconciler.
type Starter struct {
	d        *Dispatcher
	fanOut   fanOuter
	window   int
	parallel int
	poll     time.Duration
	log      func(msg string, args ...any)

	// The dispatcher's, which everything built on it wakes.
	*wakeup
}

// fanOuter turns operational events into deliveries (ingest.Ingester).
type fanOuter interface {
	FanOut(ctx context.Context) (int, error)
}

// StarterOptions tunes a Starter; zero values take the defaults.
type StarterOptions struct {
	// Window bounds deliveries started but not yet attempted (default 100).
	Window int
	// Parallel bounds concurrent StartWorkflow calls (default 16).
	Parallel int
	// Poll is how often the outbox is looked at without a wake-up: the
	// backstop for rows committed by other replicas (default 1s).
	Poll time.Duration
}

// Defaults of StarterOptions.
const (
	DefaultStartWindow = 100
	claimBatch         = 256
	fullWindowRecheck  = 20 * time.Millisecond
	maxStartBackoff    = 5 * time.Second
)

// NewStarter returns the Starter of d: whatever wakes d (Wake, WakeAt)
// wakes it. Before each pass it has f store the deliveries of operational
// events.
func (d *Dispatcher) NewStarter(f fanOuter, o StarterOptions) *Starter {
	if o.Window <= 0 {
		o.Window = DefaultStartWindow
	}
	if o.Parallel <= 0 {
		o.Parallel = parallelism
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	return &Starter{d: d, fanOut: f, window: o.Window, parallel: o.Parallel, poll: o.Poll, wakeup: d.wakeup,
		log: func(msg string, args ...any) { d.log.Warn(msg, args...) }}
}

// Run starts deliveries until ctx ends.
func (s *Starter) Run(ctx context.Context) {
	var backoff time.Duration
	for ctx.Err() == nil {
		started, full, err := s.pass(ctx)
		switch {
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), maxStartBackoff)
			s.log("starting delivery workflows failed; retrying", "error", err, "retry_in", backoff)
			sleep(ctx, backoff)
		case full:
			backoff = 0
			sleep(ctx, fullWindowRecheck)
		case started > 0:
			backoff = 0 // more may be waiting
		default:
			backoff = 0
			s.idle(ctx)
		}
	}
}

// idle waits for a wake-up, the next batch close, or the poll interval.
func (s *Starter) idle(ctx context.Context) {
	wait := s.poll
	// Batches opened by other replicas close too: look for the next one.
	if next, ok, err := s.d.store.NextBatchClose(ctx); err == nil && ok {
		s.mu.Lock()
		if s.at.IsZero() || next.Before(s.at) {
			s.at = next
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	if !s.at.IsZero() {
		if d := time.Until(s.at); d < wait {
			// A batch past its close time that could not be claimed is
			// still being written to (its row is locked): look again
			// shortly, not in a tight loop.
			wait = max(d, fullWindowRecheck)
		}
	}
	s.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-t.C:
	}
	s.mu.Lock()
	if !s.at.IsZero() && !time.Now().Before(s.at) {
		s.at = time.Time{}
	}
	s.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// pass claims what fits in the window and starts it. full reports a full
// window.
func (s *Starter) pass(ctx context.Context) (started int, full bool, err error) {
	st := s.d.store
	// Operational events become deliveries first, so that they join the
	// outbox in order.
	if _, err := s.fanOut.FanOut(ctx); err != nil {
		return 0, false, fmt.Errorf("fan out operational events: %w", err)
	}
	// One wave of starts per claim: a delivery that arrives meanwhile waits
	// for one wave, not for a whole batch, and takes its fair place in the
	// next claim.
	ds, full, err := st.ClaimForStart(ctx, min(claimBatch, s.parallel), s.window, store.Now())
	if err != nil || full || len(ds) == 0 {
		return 0, full, err
	}
	failed, err := s.startAll(ctx, ds)
	if len(failed) > 0 {
		// Back to the outbox for the next pass. With a context that
		// outlives shutdown: a claim left behind waits for the reconciler.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := st.ReleaseClaims(rctx, failed); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return len(ds) - len(failed), false, err
}

// startAll starts the claimed deliveries, Parallel at a time, and returns
// the ids whose start failed.
func (s *Starter) startAll(ctx context.Context, ds []models.Delivery) ([]string, error) {
	ids := make([]string, 0, len(ds))
	for _, del := range ds {
		ids = append(ids, del.WebhookID)
	}
	hooks, err := s.d.store.WebhooksByID(ctx, ids)
	if err != nil {
		failed := make([]string, len(ds))
		for i, del := range ds {
			failed[i] = del.ID
		}
		return failed, err
	}
	var (
		g      errgroup.Group
		mu     sync.Mutex
		failed []string
	)
	g.SetLimit(s.parallel)
	for _, del := range ds {
		wh, ok := hooks[del.WebhookID]
		if !ok {
			continue // hard-deleted with its deliveries meanwhile
		}
		g.Go(func() error {
			mode := startNew
			switch {
			case del.Trigger == models.TriggerReplay:
				mode = startReplay // a replay whose own start failed
			case del.AttemptCount > 0 || del.Starts > 1:
				// Claimed before: a run may exist (the delivery was held
				// while its webhook was paused, and resumed).
				mode = startResume
			}
			err := s.d.start(ctx, del, wh, mode)
			if err != nil {
				mu.Lock()
				failed = append(failed, del.ID)
				mu.Unlock()
			}
			return err
		})
	}
	// The first error is enough to say why; they share a cause (Temporal
	// down).
	return failed, g.Wait()
}
