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
		if n, ok, err := s.CompleteFanout(ctx, &pending[0], nil); err != nil || !ok || n != 3 {
			t.Fatalf("complete: %d %v %v", n, ok, err)
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
		if n, ok, err := s.CompleteFanout(ctx, &stale, nil); err != nil || ok || n != 0 {
			t.Fatalf("second completion: %d %v %v", n, ok, err)
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

// TestAnEarlierReleaseDoesNotSeeAPlan: a planned event leaves
// fanout_pending false, so a starter of the release before plans (which
// looks for that flag only) never takes it for an operational event; this
// release finds it pending by its plan. It is an accepted event all the
// same: listed (its counts from rows), and kept by retention until the
// plan is expanded.
func TestAnEarlierReleaseDoesNotSeeAPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := tenantWebhook(t, s, "", "w")
		old := store.Now().Add(-time.Hour)
		ev := newEvent("evt-planned", old)
		if _, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev,
			Planned: []models.Delivery{newDelivery(ev, w.ID, models.DeliveryPending, old)}}}); err != nil {
			t.Fatal(err)
		}
		var flagged int64
		if err := s.Raw(ctx, &flagged, `SELECT count(*) FROM events WHERE fanout_pending`); err != nil || flagged != 0 {
			t.Fatalf("events an earlier release's starter would take: %d %v", flagged, err)
		}
		if evs, err := s.PendingFanout(ctx, 100); err != nil || len(evs) != 1 || evs[0].FanoutPlan == nil {
			t.Fatalf("pending: %+v %v", evs, err)
		}
		evs, err := s.ListEvents(ctx, store.EventQuery{Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].ID != ev.ID || evs[0].FanoutPlan != nil {
			t.Fatalf("listed (without its plan): %+v %v", evs, err)
		}
		if res, err := s.PurgeBefore(ctx, store.Now()); err != nil || res.Events != 0 {
			t.Fatalf("retention purged a planned event: %+v %v", res, err)
		}
		pending, _ := s.PendingFanout(ctx, 100)
		if n, ok, err := s.CompleteFanout(ctx, &pending[0], nil); err != nil || !ok || n != 1 {
			t.Fatalf("complete: %d %v %v", n, ok, err)
		}
		if evs, _ := s.PendingFanout(ctx, 100); len(evs) != 0 {
			t.Fatalf("still pending: %+v", evs)
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

// TestDownRefusesWhilePlansWait: rolling back migration 00022 would drop
// plans whose deliveries were answered; it is refused, saying what to do,
// until the starter has expanded them.
func TestDownRefusesWhilePlansWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := tenantWebhook(t, s, "", "w")
		now := store.Now()
		ev := newEvent("evt-planned", now)
		if _, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev,
			Planned: []models.Delivery{newDelivery(ev, w.ID, models.DeliveryPending, now)}}}); err != nil {
			t.Fatal(err)
		}
		err := s.MigrateDownTo(ctx, 21)
		if err == nil || !strings.Contains(err.Error(), "run an api of this release") {
			t.Fatalf("down with a plan waiting: %v", err)
		}
		var planned int64
		if err := s.Raw(ctx, &planned, `SELECT count(*) FROM events WHERE fanout_plan IS NOT NULL`); err != nil || planned != 1 {
			t.Fatalf("plans after the refused down: %d %v", planned, err)
		}
		pending, _ := s.PendingFanout(ctx, 100)
		if _, ok, err := s.CompleteFanout(ctx, &pending[0], nil); err != nil || !ok {
			t.Fatalf("complete: %v %v", ok, err)
		}
		if err := s.MigrateDownTo(ctx, 21); err != nil {
			t.Fatalf("down with no plan waiting: %v", err)
		}
		if err := s.Raw(ctx, &planned, `SELECT count(*) FROM deliveries WHERE event_id = ?`, ev.ID); err != nil || planned != 1 {
			t.Fatalf("deliveries after the down: %d %v", planned, err)
		}
	})
}
