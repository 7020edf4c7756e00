package dispatch

import (
	"testing"
	"time"
)

// gap is the time between the start calls feed gives.
var gap = time.Millisecond

// feed gives w n start calls of took each, gap apart from at; held has
// the window hold a claim back before each.
func feed(w *adaptiveWindow, n int, took time.Duration, at time.Time, held bool) time.Time {
	for range n {
		if held {
			w.heldBack(at)
		}
		w.observe(took, at)
		at = at.Add(gap)
	}
	return at
}

// TestAdaptiveWindowGrowsWhileItHoldsStartsBack: it starts at the floor,
// grows by one place per batch of fast starts up to START_WINDOW while it
// holds claims back, and gives them back, to the floor, while it does not.
func TestAdaptiveWindowGrowsWhileItHoldsStartsBack(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := time.Unix(0, 0)
	if got := w.size(at); got != 16 {
		t.Fatalf("new: window %d, want the floor, 16", got)
	}
	at = feed(w, 20*adaptBatch, 8*time.Millisecond, at, false)
	if got := w.size(at); got != 16 {
		t.Fatalf("fast starts that the window did not hold back: window %d, want 16", got)
	}
	at = feed(w, 10*adaptBatch, 8*time.Millisecond, at, true)
	if got := w.size(at); got != 26 {
		t.Fatalf("ten batches held back: window %d, want 26", got)
	}
	at = feed(w, 200*adaptBatch, 8*time.Millisecond, at, true)
	if got := w.size(at); got != 100 {
		t.Fatalf("held back for long: window %d, want START_WINDOW, 100", got)
	}
	// Not held back (a quiet spell, or a bound other than the window):
	// it gives a place back per batch, down to the floor.
	at = feed(w, 10*adaptBatch, 8*time.Millisecond, at, false)
	if got := w.size(at); got != 90 {
		t.Fatalf("ten batches not held back: window %d, want 90", got)
	}
	at = feed(w, 200*adaptBatch, 8*time.Millisecond, at, false)
	if got := w.size(at); got != 16 {
		t.Fatalf("a long quiet spell: window %d, want the floor, 16", got)
	}
}

// TestAdaptiveWindowShrinksWhileStartsAreSlow: starts over twice the
// fastest median (and the slack) take a quarter off per batch down to the
// floor, never below, whether or not the window holds starts back.
func TestAdaptiveWindowShrinksWhileStartsAreSlow(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := time.Unix(0, 0)
	at = feed(w, 200*adaptBatch, 8*time.Millisecond, at, true)
	at = feed(w, adaptBatch, 120*time.Millisecond, at, false)
	if got := w.size(at); got != 75 {
		t.Fatalf("one slow batch: window %d, want 75", got)
	}
	at = feed(w, 20*adaptBatch, 120*time.Millisecond, at, true)
	if got := w.size(at); got != 16 {
		t.Fatalf("slow starts: window %d, want the floor, 16", got)
	}
}

// TestAdaptiveWindowToleratesSmallSlowdowns: a median up to twice the
// fastest plus the slack is no reason to shrink (a busy but keeping-up
// server, or jitter on a fast one).
func TestAdaptiveWindowToleratesSmallSlowdowns(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := time.Unix(0, 0)
	at = feed(w, adaptBatch, 2*time.Millisecond, at, true)
	at = feed(w, 100*adaptBatch, 2*2*time.Millisecond+adaptSlack, at, true)
	if got := w.size(at); got != 100 {
		t.Fatalf("window %d, want 100", got)
	}
}

// TestAdaptiveWindowJudgesTheMedian: a few slow calls in a batch (a
// garbage collection, one slow query) do not shrink it.
func TestAdaptiveWindowJudgesTheMedian(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := time.Unix(0, 0)
	at = feed(w, 100*adaptBatch, 5*time.Millisecond, at, true)
	for range 20 {
		at = feed(w, adaptBatch/2-1, time.Second, at, true)
		at = feed(w, adaptBatch/2+1, 5*time.Millisecond, at, true)
	}
	if got := w.size(at); got != 100 {
		t.Fatalf("window %d, want 100", got)
	}
}

// TestAdaptiveWindowForgetsAnOldBaseline: after two eras of a slower
// server, its latency is the baseline, and the window grows back.
func TestAdaptiveWindowForgetsAnOldBaseline(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := time.Unix(0, 0)
	at = feed(w, 100*adaptBatch, 5*time.Millisecond, at, true)
	at = feed(w, 4*adaptBatch, 60*time.Millisecond, at, true)
	if got := w.size(at); got >= 100 {
		t.Fatalf("slower server: window %d, want it shrunk", got)
	}
	// Two eras are 2 × adaptEra ÷ gap starts.
	at = feed(w, int(2*adaptEra/gap)+100*adaptBatch, 60*time.Millisecond, at, true)
	if got := w.size(at); got != 100 {
		t.Fatalf("two eras later: window %d, want 100", got)
	}
}

// TestAdaptiveWindowBelowTheFloorStaysPut: a START_WINDOW no larger than
// the floor (webhookd dev's 8) is used as it is.
func TestAdaptiveWindowBelowTheFloorStaysPut(t *testing.T) {
	w := newAdaptiveWindow(8, 16)
	at := time.Unix(0, 0)
	at = feed(w, adaptBatch, time.Millisecond, at, true)
	at = feed(w, 10*adaptBatch, time.Second, at, true)
	if got := w.size(at); got != 8 {
		t.Fatalf("window %d, want 8", got)
	}
}

// TestAdaptiveWindowIdleReturnsToTheFloor: a window that has held nothing
// back for adaptIdle is at its floor, though no batch of starts came to
// shrink it (a quiet spell before the next burst).
func TestAdaptiveWindowIdleReturnsToTheFloor(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := time.Unix(0, 0)
	at = feed(w, 200*adaptBatch, 8*time.Millisecond, at, true)
	if got := w.size(at.Add(adaptIdle / 2)); got != 100 {
		t.Fatalf("just after: window %d, want 100", got)
	}
	if got := w.size(at.Add(2 * adaptIdle)); got != 16 {
		t.Fatalf("after a quiet spell: window %d, want the floor, 16", got)
	}
}
