package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestReconcileStartsOrphans: deliveries claimed by a starter that died
// before starting them are started again, as a new run unless one is open;
// a delivery changed since the list was read (a run got to it meanwhile) is
// left alone.
func TestReconcileStartsOrphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, ids := seedOutbox(t, s, 3)
		// Claimed a minute ago, never started.
		if _, _, err := s.ClaimForStart(ctx, 10, 100, store.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		fake := dispatchtest.New()
		// While the first is being started, the runs of the other two
		// begin their attempts: the reconciler listed them before that.
		var first string
		fake.FailStart = func(r dispatch.Run) error {
			if first == "" {
				first = r.WorkflowID
				for _, id := range ids {
					if workflows.DeliveryWorkflowID(id) != first {
						if err := s.MarkDelivering(ctx, id); err != nil {
							t.Error(err)
						}
					}
				}
			}
			return nil
		}
		d, _ := newDispatcher(s, fake)
		n, err := d.Reconcile(ctx, 30*time.Second)
		if err != nil || n != 3 {
			t.Fatalf("reconcile looked at %d: %v", n, err)
		}
		if starts, _ := started(fake); len(starts) != 1 || starts[first] != 1 {
			t.Fatalf("started %v, want only %s: the others changed since they were listed", starts, first)
		}
		for _, r := range fake.Starts() {
			if r.Policy != dispatch.Again {
				t.Errorf("a reconciled start of %s with policy %d: an open run must be left alone", r.WorkflowID, r.Policy)
			}
		}
	})
}

// TestReconcileReleasesHeldDeliveriesOfRunningWebhooks: deliveries held
// while their webhook was paused, left behind by a resume that did not
// finish, go back to the outbox.
func TestReconcileReleasesHeldDeliveriesOfRunningWebhooks(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, _ := seedOutbox(t, s, 0)
	ev := event("acme", "evt-held", "order.created")
	held := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", EventID: ev.ID, WebhookID: w.ID,
		EventType: ev.Type, Status: models.DeliveryHeld, Trigger: models.TriggerScheduled,
		CreatedAt: store.Now().Add(-time.Hour), UpdatedAt: store.Now().Add(-time.Hour)}
	if _, _, _, err := s.IngestEvent(ctx, &ev, []models.Delivery{held}); err != nil {
		t.Fatal(err)
	}
	d, _ := newDispatcher(s, dispatchtest.New())
	if _, err := d.Reconcile(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetDelivery(ctx, held.ID); got.Status != models.DeliveryPending {
		t.Fatalf("held delivery of a running webhook is %s, want pending", got.Status)
	}
}
