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

// TestWakeRateWaitersSignalsEachWaitingRun: the deliveries holding a
// reserved rate slot of the webhook are signalled LimitsChangedSignal,
// once each; a delivery granted at once holds no slot and is left alone,
// and a waiter whose run has closed is skipped.
func TestWakeRateWaitersSignalsEachWaitingRun(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 5)
	fake := dispatchtest.New()
	for i, id := range ids {
		got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: id, WebhookID: w.ID, Holder: id + "/1/run",
			MaxConcurrency: 100, RateLimit: 0.1, Lease: time.Minute})
		if err != nil || got.Granted != (i == 0) {
			t.Fatalf("delivery %d: %+v %v, want only the first granted", i, got, err)
		}
		if i < len(ids)-1 {
			fake.SetOpen(runOf("acme", id)) // the last one's run has closed
		}
	}
	d, _ := newDispatcher(s, fake)
	d.WakeRateWaiters(ctx, w.ID)
	var want []string
	for _, id := range ids[1 : len(ids)-1] {
		want = append(want, workflows.DeliveryWorkflowID(id)+": "+workflows.LimitsChangedSignal)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := fake.Signals()
		slices.Sort(got)
		slices.Sort(want)
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("signals %v, want %v", got, want)
		}
	}
	time.Sleep(100 * time.Millisecond) // nothing more comes
	if n := len(fake.Signals()); n != len(want) {
		t.Fatalf("%d signals, want %d", n, len(want))
	}
}
