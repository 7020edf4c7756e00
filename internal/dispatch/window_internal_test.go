package dispatch

import (
	"testing"
	"time"
)

// feed gives w n start calls of took each, a second apart from at.
func feed(w *adaptiveWindow, n int, took time.Duration, at time.Time) time.Time {
	for range n {
		w.observe(took, at)
		at = at.Add(time.Second)
	}
	return at
}

// TestAdaptiveWindowShrinksWhileStartsAreSlowAndGrowsBack: fast starts keep
// START_WINDOW; starts over twice the fastest median (and the slack) take
// a quarter off per batch down to the floor, never below; fast ones again
// add one place per batch back to START_WINDOW.
func TestAdaptiveWindowShrinksWhileStartsAreSlowAndGrowsBack(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, 5*adaptBatch, 8*time.Millisecond, time.Unix(0, 0))
	if got := w.size(); got != 100 {
		t.Fatalf("fast starts: window %d, want 100", got)
	}
	at = feed(w, adaptBatch, 120*time.Millisecond, at)
	if got := w.size(); got != 75 {
		t.Fatalf("one slow batch: window %d, want 75", got)
	}
	at = feed(w, 20*adaptBatch, 120*time.Millisecond, at)
	if got := w.size(); got != 16 {
		t.Fatalf("slow starts: window %d, want the floor %d", got, 16)
	}
	at = feed(w, 10*adaptBatch, 8*time.Millisecond, at)
	if got := w.size(); got != 16+10 {
		t.Fatalf("ten fast batches after: window %d, want %d", got, 16+10)
	}
	feed(w, 200*adaptBatch, 8*time.Millisecond, at)
	if got := w.size(); got != 100 {
		t.Fatalf("fast starts for long: window %d, want 100 again", got)
	}
}

// TestAdaptiveWindowToleratesSmallSlowdowns: a median up to twice the
// fastest plus the slack is no reason to shrink (a busy but keeping-up
// server, or jitter on a fast one).
func TestAdaptiveWindowToleratesSmallSlowdowns(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, adaptBatch, 2*time.Millisecond, time.Unix(0, 0))
	feed(w, 50*adaptBatch, 2*2*time.Millisecond+adaptSlack, at)
	if got := w.size(); got != 100 {
		t.Fatalf("window %d, want 100", got)
	}
}

// TestAdaptiveWindowJudgesTheMedian: a few slow calls in a batch (a
// garbage collection, one slow query) do not shrink it.
func TestAdaptiveWindowJudgesTheMedian(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, adaptBatch, 5*time.Millisecond, time.Unix(0, 0))
	for range 20 {
		at = feed(w, adaptBatch/2-1, time.Second, at)
		at = feed(w, adaptBatch/2+1, 5*time.Millisecond, at)
	}
	if got := w.size(); got != 100 {
		t.Fatalf("window %d, want 100", got)
	}
}

// TestAdaptiveWindowForgetsAnOldBaseline: after two eras of a slower
// server, its latency is the baseline, and the window grows back.
func TestAdaptiveWindowForgetsAnOldBaseline(t *testing.T) {
	w := newAdaptiveWindow(100, 16)
	at := feed(w, adaptBatch, 5*time.Millisecond, time.Unix(0, 0))
	at = feed(w, 4*adaptBatch, 60*time.Millisecond, at)
	if got := w.size(); got >= 100 {
		t.Fatalf("slower server: window %d, want it shrunk", got)
	}
	// One start per second: two eras are 2 × adaptEra ÷ 1 s starts.
	feed(w, int(2*adaptEra/time.Second)+100*adaptBatch, 60*time.Millisecond, at)
	if got := w.size(); got != 100 {
		t.Fatalf("two eras later: window %d, want 100", got)
	}
}

// TestAdaptiveWindowBelowTheFloorStaysPut: a START_WINDOW no larger than
// the floor (webhookd dev's 8) is used as it is.
func TestAdaptiveWindowBelowTheFloorStaysPut(t *testing.T) {
	w := newAdaptiveWindow(8, 16)
	at := feed(w, adaptBatch, time.Millisecond, time.Unix(0, 0))
	feed(w, 10*adaptBatch, time.Second, at)
	if got := w.size(); got != 8 {
		t.Fatalf("window %d, want 8", got)
	}
}
