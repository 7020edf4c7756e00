package dispatch_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// TestWakeRateWaitersSignalsEachWaitingRun: after a webhook's rateLimit is
// raised, and again after it is removed (which drops the reserved slots),
// every delivery waiting for a rate slot is signalled LimitsChangedSignal
// once; a delivery granted at once does not wait and is left alone, and a
// waiter whose run has closed is skipped.
func TestWakeRateWaitersSignalsEachWaitingRun(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 5)
	setRate := func(rate float64) {
		t.Helper()
		was := w.Version
		w.RateLimit, w.Version = rate, was+0.1
		if err := s.UpdateWebhook(ctx, w, was, true); err != nil {
			t.Fatal(err)
		}
	}
	setRate(0.1)
	// Started: a delivery still in the outbox has no run to tell.
	if _, _, err := s.ClaimForStart(ctx, len(ids), 2*len(ids), store.Now()); err != nil {
		t.Fatal(err)
	}
	fake := dispatchtest.New()
	for i, id := range ids {
		got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: id, WebhookID: w.ID, Holder: id + "/1/run",
			MaxConcurrency: 100, RateLimit: w.RateLimit, Lease: time.Minute})
		if err != nil || got.Granted != (i == 0) {
			t.Fatalf("delivery %d: %+v %v, want only the first granted", i, got, err)
		}
		if i < len(ids)-1 {
			fake.SetOpen(runOf("acme", id)) // the last one's run has closed
		}
	}
	var want []string
	for _, id := range ids[1 : len(ids)-1] {
		want = append(want, workflows.DeliveryWorkflowID(id)+": "+workflows.LimitsChangedSignal)
	}
	slices.Sort(want)
	d, _ := newDispatcher(s, fake)
	woken := func(when string, want []string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got := fake.Signals()
			slices.Sort(got)
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: signals %v, want %v", when, got, want)
			}
		}
		time.Sleep(100 * time.Millisecond) // nothing more comes
		if n := len(fake.Signals()); n != len(want) {
			t.Fatalf("%s: %d signals, want %d", when, n, len(want))
		}
	}
	setRate(1)
	d.WakeRateWaiters(ctx, w.ID)
	woken("raised", want)

	setRate(0) // the reserved slots go with the limit
	d.WakeRateWaiters(ctx, w.ID)
	twice := slices.Sorted(slices.Values(append(slices.Clone(want), want...)))
	woken("removed", twice)
}
