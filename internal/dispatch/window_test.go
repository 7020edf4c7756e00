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
	fake.FailStart = func(dispatch.Run) error {
		if slow.Load() {
			time.Sleep(30 * time.Millisecond)
		}
		return nil
	}
	st, _ := newStarter(s, fake, dispatch.StarterOptions{Window: 64})
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
	// Fast starts: the baseline, and the whole window's half.
	waitFor("32 fast starts", func() bool { return len(fake.Starts()) == 32 })
	fast := attemptAll()
	waitFor("64 fast starts", func() bool { return len(fake.Starts()) >= 64 })
	fast = attemptAll()
	// Slow starts, their attempts begun as they start, for 8 batches.
	slow.Store(true)
	waitFor("128 slow starts", func() bool { return attemptAll()-fast >= 128 })
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
	if pending := len(fake.Starts()) - len(attempted); pending < 1 || pending > 8 {
		t.Fatalf("%d deliveries started and not attempted, want 1 to 8 (half the shrunk window)", pending)
	}
}
