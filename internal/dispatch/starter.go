package dispatch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// Starter starts the workflows of deliveries that ingest committed to the
// outbox, oldest first. It is admission control for Temporal: it keeps at
// most Window deliveries started but not yet attempted, those waiting for a
// webhook's limits aside (counted in the database, so across every api
// replica; store.ClaimForStart bounds the waiters), because a Temporal server fed
// faster than it can run workflows gets slower, not faster; it keeps fewer
// while its start calls are slow, or the load needs fewer (adaptiveWindow). Replicas share
// the outbox without double starts (rows are claimed with SKIP LOCKED, and a
// first start of a delivery id that already has a run is a no-op). A crash
// at any moment loses nothing: a claimed row whose start never happened is
// found by the reconciler.
type Starter struct {
	d      *Dispatcher
	fanOut fanOuter
	// window is START_WINDOW, which bounds waiters; ready is the
	// adaptive window of starts ready to run, at most window.
	window   int
	ready    *adaptiveWindow
	parallel int
	poll     time.Duration
	backstop bool
	log      func(msg string, args ...any)

	// Starts in flight: at most parallel, each taking a slot of busy;
	// a finished one signals freed and leaves its error in failed.
	busy     chan struct{}
	freed    chan struct{}
	inflight sync.WaitGroup
	failed   atomic.Pointer[error]

	// fanOutMore: the last FanOut left events waiting (it stops at a
	// budget), so Run passes again at once instead of waiting. Both are
	// Run's alone.
	fanOutMore bool
	// fanOutLogged is when a FanOut error was last logged, fanOutQuiet
	// how many were not since: an event that fails every pass would
	// otherwise log every pass.
	fanOutLogged time.Time
	fanOutQuiet  int

	// The dispatcher's, which everything built on it wakes.
	*wakeup
}

// fanOuter stores the deliveries of events waiting for them (operational
// events, planned fan-outs: ingest.Ingester). more reports that some may
// still wait; err joins those of the events it skipped.
type fanOuter interface {
	FanOut(ctx context.Context) (done int, more bool, err error)
}

// StarterOptions tunes a Starter; zero values take the defaults.
type StarterOptions struct {
	// Window bounds deliveries started but not yet attempted, those
	// waiting for a webhook's limits aside (default 100): the most the
	// adaptive window grows to.
	Window int
	// MinWindow is where the adaptive window begins and the least it
	// shrinks to (Window if smaller; 0: Window, no adapting). A backstop
	// keeps its ready starts to it.
	MinWindow int
	// Parallel bounds concurrent StartWorkflow calls (default 16).
	Parallel int
	// Poll is how often the outbox is looked at without a wake-up: the
	// backstop for rows committed by other replicas (default 1s).
	Poll time.Duration
	// Backstop makes a starter for what other processes' starters leave
	// (an api that leaves the starts to the workers, should no worker
	// start them): it takes no wake-ups and passes once per Poll, only
	// while a delivery has waited in the outbox longer than Poll
	// (runBackstop).
	Backstop bool
}

// Defaults of StarterOptions.
const (
	DefaultStartWindow = 100
	claimBatch         = 256
	fullWindowRecheck  = 20 * time.Millisecond
	// maxFullRecheck is the longest wait between looks at a window that
	// stays full (its places free up as attempts begin, in any worker).
	maxFullRecheck  = 200 * time.Millisecond
	maxStartBackoff = 5 * time.Second
	// fanOutLogEvery: at most one log line of fan-out errors so often.
	fanOutLogEvery = 30 * time.Second
)

// NewStarter returns the Starter of d: whatever wakes d (Wake, WakeAt)
// wakes it. Before each pass it has f store the deliveries of operational
// events.
func (d *Dispatcher) NewStarter(f fanOuter, o StarterOptions) *Starter {
	if o.Window <= 0 {
		o.Window = DefaultStartWindow
	}
	if o.MinWindow <= 0 {
		o.MinWindow = o.Window
	}
	most := o.Window
	if o.Backstop {
		// It starts what the fast starters leave, mostly during a burst
		// (when deliveries wait longer than its poll): it must not refill
		// the window they shrank.
		most = min(o.Window, o.MinWindow)
	}
	ready := newAdaptiveWindow(most, o.MinWindow)
	if o.Parallel <= 0 {
		o.Parallel = parallelism
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	w := d.wakeup
	if o.Backstop {
		w = newWakeup() // nobody wakes it
	}
	return &Starter{d: d, fanOut: f, window: o.Window, ready: ready, parallel: o.Parallel, poll: o.Poll, wakeup: w, backstop: o.Backstop,
		busy: make(chan struct{}, o.Parallel), freed: make(chan struct{}, 1),
		log: func(msg string, args ...any) { d.log.Warn(msg, args...) }}
}

// WindowSize is the start window this starter claims against now (its
// adaptive window; webhookd_start_window).
func (s *Starter) WindowSize() int { return s.ready.shown(time.Now()) }

// Run starts deliveries until ctx ends, and returns once the starts in
// flight have ended.
func (s *Starter) Run(ctx context.Context) {
	defer s.inflight.Wait()
	if s.backstop {
		s.runBackstop(ctx)
		return
	}
	var backoff, recheck time.Duration
	for ctx.Err() == nil {
		started, full, err := s.pass(ctx)
		if !full {
			recheck = 0
		}
		switch {
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), maxStartBackoff)
			s.log("starting delivery workflows failed; retrying", "error", err, "retry_in", backoff)
			sleep(ctx, backoff)
		case s.fanOutMore:
			// Events still wait for their fan-out: pass again at once,
			// not after a free start slot, a recheck or the next poll.
			backoff = 0
		case started < 0:
			backoff = 0
			s.awaitFreeSlot(ctx)
		case full:
			// Everyone waiting holds their share: look again soon, less
			// often while it stays so (each look is a claim under the
			// window's lock), and at once for a new delivery (a tenant
			// that shows up finds its share free).
			backoff = 0
			recheck = min(max(2*recheck, fullWindowRecheck), maxFullRecheck)
			s.await(ctx, recheck)
		case started > 0:
			backoff = 0 // more may be waiting
		default:
			backoff = 0
			s.idle(ctx)
		}
	}
}

// runBackstop looks at the outbox once per poll, and passes only when a
// delivery has waited there longer than that: the deliveries are the
// other starters' to start (eagerly, in their workers), and under load a
// backstop that passed whenever the window had room would take their
// starts. Waiting fan-outs are stored at every look, as by any starter.
func (s *Starter) runBackstop(ctx context.Context) {
	for {
		sleep(ctx, s.poll)
		if ctx.Err() != nil {
			return
		}
		late, err := s.d.store.UndispatchedBefore(ctx, store.Now().Add(-s.poll))
		switch {
		case err != nil:
		case late:
			_, _, err = s.pass(ctx)
		default:
			if _, _, err := s.fanOut.FanOut(ctx); err != nil && ctx.Err() == nil {
				s.logFanOut(err)
			}
		}
		if err != nil && ctx.Err() == nil {
			s.log("the backstop starter's look at the outbox failed; looking again at its next poll", "error", err)
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

// await waits for d, a wake-up or the end of ctx.
func (s *Starter) await(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-t.C:
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// awaitFreeSlot waits until a start in flight ends.
func (s *Starter) awaitFreeSlot(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.freed:
	}
}

// pass claims as many deliveries as there are free start slots (what fits
// in the window, shared fairly: store.ClaimForStart) and starts them in the
// background. A delivery committed meanwhile is claimed as soon as any
// start ends, in its fair place, instead of after a whole batch. started
// is -1 when every slot is busy; full reports a full window; err is the
// last start that failed since the previous pass.
func (s *Starter) pass(ctx context.Context) (started int, full bool, err error) {
	st := s.d.store
	// Waiting fan-outs (operational events, plans) become deliveries
	// first, so that they join the outbox in order; a bounded amount per
	// pass. Their errors never stop the claims: an event that cannot be
	// fanned out (a plan this release cannot read) would otherwise stop
	// every start of every tenant.
	_, more, err := s.fanOut.FanOut(ctx)
	s.fanOutMore = more && ctx.Err() == nil
	if err != nil && ctx.Err() == nil {
		s.logFanOut(err)
	}
	if e := s.failed.Swap(nil); e != nil {
		return 0, false, *e
	}
	free := cap(s.busy) - len(s.busy)
	if free == 0 {
		return -1, false, nil
	}
	ds, full, held, err := st.ClaimForStartWithin(ctx, min(claimBatch, free), s.window, s.ready.size(time.Now()), store.Now())
	if held {
		s.ready.heldBack(time.Now())
	}
	if err != nil || full || len(ds) == 0 {
		return 0, full, err
	}
	ids := make([]string, 0, len(ds))
	for _, del := range ds {
		ids = append(ids, del.WebhookID)
	}
	hooks, err := st.WebhooksByID(ctx, ids)
	if err != nil {
		s.release(ctx, ds...)
		return 0, false, err
	}
	for _, del := range ds {
		wh, ok := hooks[del.WebhookID]
		if !ok {
			continue // hard-deleted with its deliveries meanwhile
		}
		s.busy <- struct{}{}
		s.inflight.Add(1)
		go func() {
			defer func() {
				<-s.busy
				s.inflight.Done()
				select {
				case s.freed <- struct{}{}:
				default:
				}
			}()
			mode := claimedMode(del)
			began := time.Now()
			if err := s.d.start(ctx, del, wh, mode); err != nil {
				s.release(ctx, del)
				// The last error is enough to say why; they share a cause
				// (Temporal down).
				s.failed.Store(&err)
				return
			}
			s.ready.observe(time.Since(began), time.Now())
			if mode == startResume {
				s.checkResumed(ctx, del)
			}
		}()
	}
	return len(ds), false, nil
}

// logFanOut logs a FanOut error, at most once per fanOutLogEvery.
func (s *Starter) logFanOut(err error) {
	if now := time.Now(); now.Sub(s.fanOutLogged) >= fanOutLogEvery {
		s.log("fanning out waiting events failed; the others and the starts go on",
			"error", err, "failures_not_logged", s.fanOutQuiet)
		s.fanOutLogged, s.fanOutQuiet = now, 0
		return
	}
	s.fanOutQuiet++
}

// resumeChecks: a resumed delivery's start can find the run that held it
// still open, closing (it recorded `held` and has yet to return); the
// start then goes to that run (USE_EXISTING), and once it closes no run
// is left. So the starter looks again these long after each resumed start
// while a run is open, instead of leaving the delivery to the reconciler.
var resumeChecks = []time.Duration{3 * time.Second, 10 * time.Second, 30 * time.Second}

// checkResumed starts del's workflow again if, at one of resumeChecks, no
// run of it is open and it is as its claim left it (restartIfClosed).
func (s *Starter) checkResumed(ctx context.Context, del models.Delivery) {
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		began := time.Now()
		for _, after := range resumeChecks {
			sleep(ctx, time.Until(began.Add(after)))
			if ctx.Err() != nil {
				return
			}
			open, err := s.d.restartIfClosed(ctx, del)
			if err != nil && ctx.Err() == nil {
				s.log("looking again at a resumed delivery failed; the reconciler will", "delivery_id", del.ID, "error", err)
			}
			if err != nil || !open {
				return
			}
		}
	}()
}

// claimedMode is how a claimed delivery's workflow starts.
func claimedMode(del models.Delivery) startMode {
	switch {
	case del.Trigger == models.TriggerReplay:
		return startReplay // a replay whose own start failed
	case del.AttemptCount > 0 || del.Starts > 1:
		// Claimed before: a run may exist (the delivery was held while its
		// webhook was paused, and resumed).
		return startResume
	}
	return startNew
}

// release puts claimed deliveries whose start failed back in the outbox for
// a later pass. With a context that outlives shutdown: a claim left behind
// waits for the reconciler.
func (s *Starter) release(ctx context.Context, ds ...models.Delivery) {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.d.store.ReleaseClaims(rctx, ids); err != nil {
		s.log("returning claimed deliveries to the outbox failed; the reconciler will start them", "error", err)
	}
}
