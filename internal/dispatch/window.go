package dispatch

import (
	"slices"
	"sync"
	"time"
)

// adaptiveWindow sizes the start window below START_WINDOW while Temporal
// answers the starter's start calls slowly. A start call waits in the
// Temporal server's and its database's queues, which are as long as the
// work they were given: once a burst fills a deep window on a server
// without room for it, every start (a quiet tenant's too) waits behind the
// burst's, while the burst itself goes no faster (a server running flat
// out finishes the same workflows per second however many wait). So the
// window starts at its floor (START_WINDOW_MIN, 16 by default: on the
// production-like benchmark a window of 16 delivered a burst as fast as
// 100, docs/performance.md). Per batch of adaptBatch start calls it
// shrinks by a quarter, down to the floor, while their median is over
// twice the fastest such median lately (plus adaptSlack); otherwise it
// grows by one place, up to START_WINDOW, if it held starts back since the
// last batch (store.ClaimForStartWithin's held: its room or a share of it
// ran out while deliveries waited), and gives one back, down to the floor,
// if it did not; one that has held nothing back for adaptIdle is back at
// the floor. A server with room (a cluster of many workers) grows it as
// far as its load needs, one running flat out keeps a short queue, and a
// quiet spell brings it back to the floor, so that the next burst meets a
// short queue, not one as deep as START_WINDOW. Each starting process
// sizes its own, against the window's one count of every process's
// starts: while they disagree, the largest applies (docs/architecture.md,
// "Sizing").
type adaptiveWindow struct {
	mu             sync.Mutex
	ceiling, floor int
	limit          float64
	batch          []time.Duration // start calls since the last adjustment
	// fastest and lastFastest are the lowest batch medians of this era and
	// of the one before (adaptEra each): the baseline forgets a faster
	// past, as a server's latency when idle may change (a restart, a
	// new database host).
	fastest, lastFastest time.Duration
	eraBegan             time.Time
	// held: a claim was held back by the window since the last batch;
	// lastHeld: when one last was.
	held     bool
	lastHeld time.Time
}

// The adaptive window's tuning (see adaptiveWindow).
const (
	adaptBatch  = 16
	adaptSlack  = 5 * time.Millisecond
	adaptShrink = 0.75
	adaptEra    = 5 * time.Minute
	adaptIdle   = time.Second
)

func newAdaptiveWindow(ceiling, floor int) *adaptiveWindow {
	floor = min(ceiling, floor)
	return &adaptiveWindow{ceiling: ceiling, floor: floor, limit: float64(floor)}
}

// heldBack records a claim at now that the window held back: its room,
// or a tenant's or webhook's share of it, ran out while deliveries waited.
func (w *adaptiveWindow) heldBack(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held, w.lastHeld = true, now
}

// size is the window to claim against at now. One that has held nothing
// back for adaptIdle is back at its floor: a quiet spell may bring no
// batch of starts to shrink it by, and the next burst must meet a short
// queue.
func (w *adaptiveWindow) size(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.idle(now) {
		w.limit, w.held = float64(w.floor), false
	}
	return int(w.limit)
}

// shown is size at now without its idle reset, for a reader beside the
// claims (a scrape must not move the window between a claim and its
// heldBack).
func (w *adaptiveWindow) shown(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.idle(now) {
		return w.floor
	}
	return int(w.limit)
}

// idle: the window has held nothing back for adaptIdle (w.mu held).
func (w *adaptiveWindow) idle(now time.Time) bool { return now.Sub(w.lastHeld) > adaptIdle }

// observe records one successful start call of elapsed, ending at now.
func (w *adaptiveWindow) observe(elapsed time.Duration, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.floor == w.ceiling {
		return // nothing to size
	}
	w.batch = append(w.batch, elapsed)
	if len(w.batch) < adaptBatch {
		return
	}
	slices.Sort(w.batch)
	median := w.batch[len(w.batch)/2]
	w.batch = w.batch[:0]
	if now.Sub(w.eraBegan) >= adaptEra {
		w.lastFastest, w.fastest, w.eraBegan = w.fastest, 0, now
	}
	if w.fastest == 0 || median < w.fastest {
		w.fastest = median
	}
	base := w.fastest
	if w.lastFastest > 0 {
		base = min(base, w.lastFastest)
	}
	switch {
	case median > 2*base+adaptSlack:
		w.limit = max(float64(w.floor), w.limit*adaptShrink)
	case w.held:
		w.limit = min(float64(w.ceiling), w.limit+1)
	default:
		w.limit = max(float64(w.floor), w.limit-1)
	}
	w.held = false
}
