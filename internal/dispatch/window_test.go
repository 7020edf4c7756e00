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

// TestStarterShrinksItsWindowWhileStartsAreSlow: once Temporal's start
// calls take many times what they took, the starter keeps fewer deliveries
// started and not yet attempted than START_WINDOW lets it: a lone webhook
// holds half of the shrunk window (8 of 16), not half of the whole (32 of
// 64).
func TestStarterShrinksItsWindowWhileStartsAreSlow(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	_, ids := seedOutbox(t, s, 400)
	delivery := make(map[string]string, len(ids))
	for _, id := range ids {
		delivery[workflows.DeliveryWorkflowID(id)] = id
	}
	var slow atomic.Bool
	fake := dispatchtest.New()
	// The fake runs one start at a time (its lock), so a start's time is
	// its sleep and its wait behind the others': a few milliseconds each
	// when fast, so that a stall of the test machine is not "many times"
	// one, and 20 times that when slow.
	fake.FailStart = func(dispatch.Run) error {
		if slow.Load() {
			time.Sleep(60 * time.Millisecond)
		} else {
			time.Sleep(3 * time.Millisecond)
		}
		return nil
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
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// Fast starts, the whole window's half: the baseline.
	waitFor("32 fast starts", func() bool { return len(fake.Starts()) == 32 })
	// Slow starts, their attempts begun as they start, for 6 batches
	// (64 → 48 → 36 → 27 → 20 → 16, the floor).
	slow.Store(true)
	fast := attemptAll()
	waitFor("96 slow starts", func() bool { return attemptAll()-fast >= 96 })
	// No more attempts: the window fills and the starts stop.
	last := -1
	waitFor("the starts to stop", func() bool {
		n := len(fake.Starts())
		if n == last {
			return true
		}
		last = n
		time.Sleep(300 * time.Millisecond)
		return false
	})
	if pending := len(fake.Starts()) - len(attempted); pending != 8 {
		t.Fatalf("%d deliveries started and not attempted, want 8 (half the window shrunk to its floor, 16)", pending)
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
