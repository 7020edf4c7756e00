package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestPlannedFanOutIsInsertedAsPlannedOnce: an event stored with a fan-out
// plan has no delivery rows, and answers (again, idempotently) with the
// planned ones; CompleteFanout inserts them with the planned ids, statuses,
// sequences, trace and times, but for the webhook hard-deleted meanwhile,
// and clears the plan; a second completion writes nothing.
func TestPlannedFanOutIsInsertedAsPlannedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var hooks []*models.Webhook
		for _, name := range []string{"a", "b", "c", "gone"} {
			w := newWebhook(name)
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			hooks = append(hooks, w)
		}
		now := store.Now()
		ev := newEvent("evt-planned", now)
		var planned []models.Delivery
		for _, w := range hooks {
			d := newDelivery(ev, w.ID, models.DeliveryPending, now)
			d.TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			planned = append(planned, d)
		}
		planned[1].Status = models.DeliveryHeld // its webhook was paused
		key, at := "order-7", now.Add(-time.Minute)
		planned[2].SequenceKey, planned[2].SequenceAt = &key, &at
		want := slices.Clone(planned)

		res, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev, Planned: planned}})
		if err != nil || !res[0].Created || !sameIDs(res[0].Deliveries, want) {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		if ds, err := s.EventDeliveries(ctx, models.DefaultTenant, ev.ID); err != nil || len(ds) != 0 {
			t.Fatalf("rows before the fan-out: %d %v", len(ds), err)
		}
		again, err := s.IngestEvents(ctx, []store.Ingestion{{Event: newEvent(ev.ID, now)}})
		if err != nil || again[0].Created || !sameIDs(again[0].Deliveries, want) {
			t.Fatalf("repeat before the fan-out: %+v %v", again, err)
		}
		if err := s.HardDeleteWebhook(ctx, hooks[3].ID); err != nil {
			t.Fatal(err)
		}

		pending, err := s.PendingFanout(ctx, 100)
		if err != nil || len(pending) != 1 || pending[0].FanoutPlan == nil {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		stale := pending[0] // what a second replica read at the same time
		if ok, err := s.CompleteFanout(ctx, &pending[0], nil); err != nil || !ok {
			t.Fatalf("complete: %v %v", ok, err)
		}
		ds, err := s.EventDeliveries(ctx, models.DefaultTenant, ev.ID)
		if err != nil || !sameIDs(ds, want[:3]) {
			t.Fatalf("rows after the fan-out: %+v %v", ds, err)
		}
		for i, d := range ds {
			p := want[i]
			if d.WebhookID != p.WebhookID || d.Status != p.Status || d.Trigger != models.TriggerScheduled ||
				d.EventType != ev.Type || d.TenantID != models.DefaultTenant || d.TraceParent != p.TraceParent ||
				!d.CreatedAt.Equal(now) || !d.UpdatedAt.Equal(now) || d.DispatchedAt != nil ||
				!equalPtr(d.SequenceKey, p.SequenceKey) || !equalTime(d.SequenceAt, p.SequenceAt) {
				t.Errorf("delivery %d: %+v, planned %+v", i, d, p)
			}
		}
		if ok, err := s.CompleteFanout(ctx, &stale, nil); err != nil || ok {
			t.Fatalf("second completion: %v %v", ok, err)
		}
		if ds, _ := s.EventDeliveries(ctx, models.DefaultTenant, ev.ID); len(ds) != 3 {
			t.Fatalf("%d rows after a second completion", len(ds))
		}
		stored, err := s.GetEvent(ctx, models.DefaultTenant, ev.ID)
		if err != nil || stored.FanoutPending || stored.FanoutPlan != nil {
			t.Fatalf("event after the fan-out: %+v %v", stored, err)
		}
		again, err = s.IngestEvents(ctx, []store.Ingestion{{Event: newEvent(ev.ID, now)}})
		if err != nil || !sameIDs(again[0].Deliveries, want[:3]) {
			t.Fatalf("repeat after the fan-out: %+v %v", again, err)
		}
		if evs, _ := s.PendingFanout(ctx, 100); len(evs) != 0 {
			t.Fatalf("still pending: %+v", evs)
		}
	})
}

// TestAnEarlierReleaseCannotCompleteAPlan: a starter of the release before
// plans would match a planned event again and store other deliveries, then
// clear fanout_pending only; the database refuses that write.
func TestAnEarlierReleaseCannotCompleteAPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("w")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		ev := newEvent("evt-planned", now)
		if _, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev,
			Planned: []models.Delivery{newDelivery(ev, w.ID, models.DeliveryPending, now)}}}); err != nil {
			t.Fatal(err)
		}
		err := s.Exec(ctx, `UPDATE events SET fanout_pending = false WHERE id = ?`, ev.ID)
		if err == nil || !strings.Contains(err.Error(), "events_plan_pending") && !strings.Contains(strings.ToLower(err.Error()), "check constraint") {
			t.Fatalf("an earlier release's completion: %v", err)
		}
		if evs, _ := s.PendingFanout(ctx, 100); len(evs) != 1 {
			t.Fatalf("pending after the refused write: %d", len(evs))
		}
	})
}

func sameIDs(ds, want []models.Delivery) bool {
	if len(ds) != len(want) {
		return false
	}
	ids := map[string]bool{}
	for _, d := range ds {
		ids[d.ID] = true
	}
	for _, d := range want {
		if !ids[d.ID] {
			return false
		}
	}
	return true
}

func equalPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func equalTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
