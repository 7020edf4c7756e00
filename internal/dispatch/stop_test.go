package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// waitCancelled waits until the runs of the deliveries were asked to cancel
// (stopping works in the background).
func waitCancelled(t *testing.T, fake *dispatchtest.Runner, ids []string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := map[string]bool{}
		for _, id := range fake.Cancelled() {
			got[id] = true
		}
		all := true
		for _, id := range ids {
			all = all && got[workflows.DeliveryWorkflowID(id)]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancelled %v, want every one of %v", fake.Cancelled(), ids)
		}
	}
}

// TestStopDeliveriesCancelsEveryOpenRun: a disabled webhook's deliveries
// that no workflow works on are cancelled in the database, and every open
// run is asked to cancel, however many pages of them there are.
func TestStopDeliveriesCancelsEveryOpenRun(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 1205)
	fake := dispatchtest.New()
	// The oldest 1,100 were started (claimed); the rest wait in the outbox.
	// (A window twice the outbox: one webhook alone may hold half of it.)
	running := ids[:1100]
	if _, _, err := s.ClaimForStart(ctx, len(running), 2*len(ids), store.Now()); err != nil {
		t.Fatal(err)
	}
	for _, id := range running {
		fake.SetOpen(runOf("acme", id))
	}
	d, _ := newDispatcher(s, fake)
	d.StopDeliveries(ctx, w.ID)
	waitCancelled(t, fake, running)
	if got, _ := s.GetDelivery(ctx, ids[1200]); got.Status != models.DeliveryCancelled {
		t.Fatalf("a waiting delivery is %s, want cancelled", got.Status)
	}
}

// TestHardDeleteEndsTheOpenRuns: the webhook and its deliveries go, and the
// runs of those deliveries are asked to cancel.
func TestHardDeleteEndsTheOpenRuns(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 3)
	fake := dispatchtest.New()
	for _, id := range ids {
		if err := s.MarkDelivering(ctx, id); err != nil {
			t.Fatal(err)
		}
		fake.SetOpen(runOf("acme", id))
	}
	d, _ := newDispatcher(s, fake)
	if err := d.HardDelete(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	waitCancelled(t, fake, ids)
	if _, err := s.GetWebhook(ctx, w.ID); err == nil {
		t.Fatal("the webhook is still there")
	}
}
