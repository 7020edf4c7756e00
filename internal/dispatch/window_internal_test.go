package dispatch

import (
	"testing"
	"time"
)

// feed gives w n start calls of took each, a second apart from at; held
// has a claim find the window full before each.
func feed(w *adaptiveWindow, n int, took time.Duration, at time.Time, held bool) time.Time {
	for range n {
		if held {
			w.heldBack()
		}
		w.observe(took, at)
		at = at.Add(time.Second)
	}
	return at
}

// TestAdaptiveWindowGrowsWhileItHoldsStartsBack: it starts at the floor,
// grows by one place per batch of fast starts up to START_WINDOW while it
// holds claims back, and gives them back, to the floor, while it does not.
func TestAdaptiveWindowGrowsWhileItHoldsStartsBack(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	if got := w.size(); got != 16 {
		t.Fatalf("new: window %d, want the floor, 16", got)
	}
	at := feed(w, 20*adaptBatch, 8*time.Millisecond, time.Unix(0, 0), false)
	if got := w.size(); got != 16 {
		t.Fatalf("fast starts that the window did not hold back: window %d, want 16", got)
	}
	at = feed(w, 10*adaptBatch, 8*time.Millisecond, at, true)
	if got := w.size(); got != 26 {
		t.Fatalf("ten batches held back: window %d, want 26", got)
	}
	at = feed(w, 200*adaptBatch, 8*time.Millisecond, at, true)
	if got := w.size(); got != 100 {
		t.Fatalf("held back for long: window %d, want START_WINDOW, 100", got)
	}
	// Not held back (a quiet spell, or a bound other than the window):
	// it gives a place back per batch, down to the floor.
	at = feed(w, 10*adaptBatch, 8*time.Millisecond, at, false)
	if got := w.size(); got != 90 {
		t.Fatalf("ten batches not held back: window %d, want 90", got)
	}
	feed(w, 200*adaptBatch, 8*time.Millisecond, at, false)
	if got := w.size(); got != 16 {
		t.Fatalf("a long quiet spell: window %d, want the floor, 16", got)
	}
}

// TestAdaptiveWindowShrinksWhileStartsAreSlow: starts over twice the
// fastest median (and the slack) take a quarter off per batch down to the
// floor, never below, whether or not the window holds starts back.
func TestAdaptiveWindowShrinksWhileStartsAreSlow(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, 200*adaptBatch, 8*time.Millisecond, time.Unix(0, 0), true)
	at = feed(w, adaptBatch, 120*time.Millisecond, at, false)
	if got := w.size(); got != 75 {
		t.Fatalf("one slow batch: window %d, want 75", got)
	}
	feed(w, 20*adaptBatch, 120*time.Millisecond, at, true)
	if got := w.size(); got != 16 {
		t.Fatalf("slow starts: window %d, want the floor, 16", got)
	}
}

// TestAdaptiveWindowToleratesSmallSlowdowns: a median up to twice the
// fastest plus the slack is no reason to shrink (a busy but keeping-up
// server, or jitter on a fast one).
func TestAdaptiveWindowToleratesSmallSlowdowns(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, adaptBatch, 2*time.Millisecond, time.Unix(0, 0), true)
	feed(w, 100*adaptBatch, 2*2*time.Millisecond+adaptSlack, at, true)
	if got := w.size(); got != 100 {
		t.Fatalf("window %d, want 100", got)
	}
}

// TestAdaptiveWindowJudgesTheMedian: a few slow calls in a batch (a
// garbage collection, one slow query) do not shrink it.
func TestAdaptiveWindowJudgesTheMedian(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, 100*adaptBatch, 5*time.Millisecond, time.Unix(0, 0), true)
	for range 20 {
		at = feed(w, adaptBatch/2-1, time.Second, at, true)
		at = feed(w, adaptBatch/2+1, 5*time.Millisecond, at, true)
	}
	if got := w.size(); got != 100 {
		t.Fatalf("window %d, want 100", got)
	}
}

// TestAdaptiveWindowForgetsAnOldBaseline: after two eras of a slower
// server, its latency is the baseline, and the window grows back.
func TestAdaptiveWindowForgetsAnOldBaseline(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, 100*adaptBatch, 5*time.Millisecond, time.Unix(0, 0), true)
	at = feed(w, 4*adaptBatch, 60*time.Millisecond, at, true)
	if got := w.size(); got >= 100 {
		t.Fatalf("slower server: window %d, want it shrunk", got)
	}
	// One start per second: two eras are 2 × adaptEra ÷ 1 s starts.
	feed(w, int(2*adaptEra/time.Second)+100*adaptBatch, 60*time.Millisecond, at, true)
	if got := w.size(); got != 100 {
		t.Fatalf("two eras later: window %d, want 100", got)
	}
}

// TestAdaptiveWindowBelowTheFloorStaysPut: a START_WINDOW no larger than
// the floor (webhookd dev's 8) is used as it is.
func TestAdaptiveWindowBelowTheFloorStaysPut(t *testing.T) {
	w := newAdaptiveWindow(8, 16)
	at := feed(w, adaptBatch, time.Millisecond, time.Unix(0, 0), true)
	feed(w, 10*adaptBatch, time.Second, at, true)
	if got := w.size(); got != 8 {
		t.Fatalf("window %d, want 8", got)
	}
}
