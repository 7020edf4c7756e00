package dispatch_test

import (
	"context"
	"errors"
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

// attempted records one failed attempt of a delivery, which leaves it
// awaiting its retry (status) or failed for good.
func attempted(t *testing.T, s *store.Store, w *models.Webhook, deliveryID string, status models.DeliveryStatus) {
	t.Helper()
	now := store.Now()
	r := store.AttemptResult{DeliveryID: deliveryID, WebhookID: w.ID, DeliveryStatus: status,
		Attempt: &models.Attempt{DeliveryID: deliveryID, Number: 1, Trigger: models.TriggerScheduled, Error: "refused",
			StartedAt: now, FinishedAt: now}}
	if status == models.DeliveryAwaitingRetry {
		next := now.Add(time.Hour)
		r.NextAttemptAt = &next
	}
	if err := s.RecordAttempt(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// TestReplayRefusals: a deleted or disabled webhook's delivery, and a test
// delivery, are not replayed: nothing changes and nothing starts.
func TestReplayRefusals(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 1)
	fake := dispatchtest.New()
	d, _ := newDispatcher(s, fake)

	w.Enabled = false
	if err := s.UpdateWebhook(ctx, w, w.Version, true); err != nil {
		t.Fatal(err)
	}
	var refused *dispatch.RefusedError
	if _, err := d.Replay(ctx, ids[0]); !errors.As(err, &refused) {
		t.Fatalf("replay of a disabled webhook's delivery: %v", err)
	}
	if err := s.SoftDeleteWebhook(ctx, w.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Replay(ctx, ids[0]); !errors.As(err, &refused) {
		t.Fatalf("replay of a deleted webhook's delivery: %v", err)
	}
	test, _ := seedOutbox(t, s, 0)
	ev := event("acme", "evt-test", "order.created")
	del := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", EventID: ev.ID, WebhookID: test.ID,
		EventType: ev.Type, Status: models.DeliverySucceeded, Trigger: models.TriggerTest, CreatedAt: store.Now(), UpdatedAt: store.Now()}
	if _, _, _, err := s.IngestEvent(ctx, &ev, []models.Delivery{del}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Replay(ctx, del.ID); !errors.As(err, &refused) {
		t.Fatalf("replay of a test delivery: %v", err)
	}
	if _, err := d.Replay(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replay of no delivery: %v", err)
	}
	if n := len(fake.Starts()) + len(fake.Ended()); n != 0 {
		t.Fatalf("a refused replay reached Temporal %d times", n)
	}
	if got, _ := s.GetDelivery(ctx, ids[0]); got.Trigger == models.TriggerReplay {
		t.Fatal("a refused replay changed the delivery")
	}
}

// TestReplayEndsTheOpenRunAndStartsAFreshSchedule: a delivery awaiting a
// retry has an open run: replay terminates it, then starts a run that
// continues the attempt numbering with the schedule from its start. A
// closed delivery's run needs no terminate.
func TestReplayEndsTheOpenRunAndStartsAFreshSchedule(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 2)
	open, closed := ids[0], ids[1]
	attempted(t, s, w, open, models.DeliveryAwaitingRetry)
	attempted(t, s, w, closed, models.DeliveryFailed)
	fake := dispatchtest.New()
	fake.SetOpen(runOf("acme", open))
	d, _ := newDispatcher(s, fake)

	got, err := d.Replay(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.DeliveryPending || got.Trigger != models.TriggerReplay {
		t.Fatalf("replayed delivery = %s/%s", got.Status, got.Trigger)
	}
	if ended := fake.Ended(); len(ended) != 1 || ended[0] != workflows.DeliveryWorkflowID(open) {
		t.Fatalf("terminated %v, want the open run", ended)
	}
	starts := fake.Starts()
	if len(starts) != 1 || starts[0].Policy != dispatch.Replace {
		t.Fatalf("starts = %+v", starts)
	}
	in := starts[0].Input.(workflows.DeliveryInput)
	if in.Trigger != models.TriggerReplay || in.FirstAttempt != 2 || in.RetriesUsed != 0 {
		t.Fatalf("input = %+v, want attempt 2 of a fresh schedule", in)
	}

	if _, err := d.Replay(ctx, closed); err != nil {
		t.Fatal(err)
	}
	if ended := fake.Ended(); len(ended) != 1 {
		t.Fatalf("a closed delivery's run was terminated: %v", ended)
	}
	if n := len(fake.Starts()); n != 2 {
		t.Fatalf("starts = %d, want 2", n)
	}
}

// TestReplayWhoseStartFailsGoesBackToTheOutbox: with Temporal down, a replay
// is accepted all the same: the delivery waits in the outbox and the
// starter starts it once Temporal answers.
func TestReplayWhoseStartFailsGoesBackToTheOutbox(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 1)
	attempted(t, s, w, ids[0], models.DeliveryFailed)
	fake := dispatchtest.New()
	fake.FailStart = func(dispatch.Run) error { return errors.New("temporal is down") }
	d, _ := newDispatcher(s, fake)
	if _, err := d.Replay(ctx, ids[0]); err != nil {
		t.Fatalf("replay with Temporal down: %v", err)
	}
	if n, _ := s.CountUndispatched(ctx); n != 1 {
		t.Fatalf("outbox = %d, want the replayed delivery back in it", n)
	}
	got, _ := s.GetDelivery(ctx, ids[0])
	if got.Status != models.DeliveryPending || got.Trigger != models.TriggerReplay {
		t.Fatalf("delivery = %s/%s", got.Status, got.Trigger)
	}
}
