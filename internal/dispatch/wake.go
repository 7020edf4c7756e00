package dispatch

import (
	"sync"
	"time"
)

// wakeup tells a process's outbox starter that deliveries entered the
// outbox, so that it starts them now instead of at its next poll. The
// dispatcher has one from New on, so that every part built on the
// dispatcher (ingest, the webhooks service, replay) wakes the starter
// without the starter existing yet; NewStarter's starter listens on it.
// With no starter listening (a process that only serves reads) a wake-up
// is dropped, and another process's starter finds the rows at its poll.
type wakeup struct {
	wake chan struct{}
	// others carries the same wake-ups to RingStarters, which tells the
	// starters of other processes (an api that leaves the starts to the
	// workers); nobody reads
	// it otherwise, and a full channel drops them.
	others chan struct{}
	mu     sync.Mutex
	at     time.Time // the earliest batch close we were told about
}

func newWakeup() *wakeup {
	return &wakeup{wake: make(chan struct{}, 1), others: make(chan struct{}, 1)}
}

// Wake asks for a pass now (new deliveries were committed).
func (w *wakeup) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case w.others <- struct{}{}:
	default:
	}
}

// WakeAt asks for a pass at t (a batch closes then).
func (w *wakeup) WakeAt(t time.Time) {
	w.mu.Lock()
	if w.at.IsZero() || t.Before(w.at) {
		w.at = t
	}
	w.mu.Unlock()
	w.Wake() // recompute the timer
}
