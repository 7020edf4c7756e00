package dispatch_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// TestStarterAdaptsItsWindow: a starter begins at START_WINDOW_MIN (a
// lone webhook holds half of it, 8 of 16, not 32 of 64), grows the window
// while it holds fast starts back, and shrinks it back to the floor once
// Temporal's start calls take many times what they took.
func TestStarterAdaptsItsWindow(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	_, ids := seedOutbox(t, s, 1000)
	delivery := make(map[string]string, len(ids))
	for _, id := range ids {
		delivery[workflows.DeliveryWorkflowID(id)] = id
	}
	var slow atomic.Bool
	fake := dispatchtest.New()
	// Fast starts take a few milliseconds, so that a stall of the test
	// machine is not "many times" one; slow ones 20 times that.
	fake.Took = func(dispatch.Run) time.Duration {
		if slow.Load() {
			return 200 * time.Millisecond
		}
		return 10 * time.Millisecond
	}
	st, _ := newStarter(s, fake, dispatch.StarterOptions{Window: 64, MinWindow: 16})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx) }()
	defer func() { cancel(); <-done }()

	attempted := map[string]bool{}
	// attemptAll begins the first attempt of every delivery started: the
	// window frees, and more start. It returns how many were started.
	attemptAll := func() int {
		runs := fake.Starts()
		for _, r := range runs {
			if id := delivery[r.WorkflowID]; !attempted[id] {
				if err := s.MarkDelivering(context.Background(), id); err != nil {
					t.Fatal(err)
				}
				attempted[id] = true
			}
		}
		return len(runs)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// pending waits for the starts to stop (no attempt begins meanwhile;
	// none for a second, five slow starts' time) and says how many are
	// started and not attempted.
	pending := func() int {
		t.Helper()
		last := -1
		waitFor("the starts to stop", func() bool {
			n := len(fake.Starts())
			if n == last {
				return true
			}
			last = n
			time.Sleep(time.Second)
			return false
		})
		return len(fake.Starts()) - len(attempted)
	}
	if n := pending(); n != 8 {
		t.Fatalf("a new starter: %d started and not attempted, want 8 (half the floor)", n)
	}
	if got := st.WindowSize(); got != 16 {
		t.Fatalf("a new starter's window: %d, want the floor, 16", got)
	}
	// Fast starts held back by the window, their attempts begun as they
	// start, for 20 batches: it grows.
	before := attemptAll()
	waitFor("320 fast starts", func() bool { return attemptAll()-before >= 320 })
	if n := pending(); n <= 8 {
		t.Fatalf("after 320 fast starts: %d started and not attempted, want more than 8 (a grown window's half)", n)
	}
	// Slow starts for 6 batches: back to the floor.
	slow.Store(true)
	before = attemptAll()
	waitFor("96 slow starts", func() bool { return attemptAll()-before >= 96 })
	if n := pending(); n != 8 {
		t.Fatalf("after slow starts: %d started and not attempted, want 8 (half the floor)", n)
	}
}

// TestStarterWindowBounds: the window of ready starts adapts between
// START_WINDOW_MIN and START_WINDOW (no minimum: it does not); waiters stay
// bounded by START_WINDOW; a backstop starter, which starts what the others
// leave during a burst, keeps its ready starts to the least.
func TestStarterWindowBounds(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	for _, c := range []struct {
		o                    dispatch.StarterOptions
		least, most, waiters int
	}{
		{dispatch.StarterOptions{}, 100, 100, 100},
		{dispatch.StarterOptions{MinWindow: 16}, 16, 100, 100},
		{dispatch.StarterOptions{Window: 8, MinWindow: 16}, 8, 8, 8},
		{dispatch.StarterOptions{Window: 300, MinWindow: 40}, 40, 300, 300},
		{dispatch.StarterOptions{Window: 100, MinWindow: 16, Backstop: true}, 16, 16, 100},
	} {
		st, _ := newStarter(s, dispatchtest.New(), c.o)
		if least, most, waiters := st.WindowBounds(); least != c.least || most != c.most || waiters != c.waiters {
			t.Errorf("%+v: ready from %d to %d, waiters within %d; want %d to %d, %d",
				c.o, least, most, waiters, c.least, c.most, c.waiters)
		}
	}
}
