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
// window shrinks, multiplicatively, while the median of the latest
// adaptBatch start calls is over twice the fastest such median lately
// (plus adaptSlack), and grows back by one place per batch otherwise: a
// server with room (a cluster of many workers) keeps START_WINDOW, one
// running flat out keeps a short queue. It never shrinks below its floor
// (START_WINDOW_MIN, 16 by default: on the production-like benchmark a
// window of 16 delivered a burst as fast as 100, docs/performance.md).
// Each starting process sizes its own, against the window's one count of
// every process's starts: while they disagree, the largest applies, and
// one started during a burst learns that burst's speed as its baseline
// (docs/architecture.md, "Sizing").
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
}

// The adaptive window's tuning (see adaptiveWindow).
const (
	adaptBatch  = 16
	adaptSlack  = 5 * time.Millisecond
	adaptShrink = 0.75
	adaptEra    = 5 * time.Minute
)

// newAdaptiveWindow starts at ceiling: a starter that has not yet seen
// Temporal slow down claims what START_WINDOW lets it.
func newAdaptiveWindow(ceiling, floor int) *adaptiveWindow {
	return &adaptiveWindow{ceiling: ceiling, floor: min(ceiling, floor), limit: float64(ceiling)}
}

// size is the window to claim against now.
func (w *adaptiveWindow) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.limit)
}

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
	if median > 2*base+adaptSlack {
		w.limit = max(float64(w.floor), w.limit*adaptShrink)
	} else {
		w.limit = min(float64(w.ceiling), w.limit+1)
	}
}
