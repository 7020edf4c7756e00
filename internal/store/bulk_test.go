package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestFanOutStoresEveryField: an event fanned out to many webhooks (the
// bulk insert's size) stores each delivery as given, nullable fields and
// all, and reads them back in order.
func TestFanOutStoresEveryField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := store.Now()
		ev := newEvent("fan", now)
		var ds []models.Delivery
		for i := range 20 {
			w := newWebhook(fmt.Sprintf("w%d", i))
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			d := newDelivery(ev, w.ID, models.DeliveryPending, now.Add(time.Duration(i)*time.Microsecond))
			d.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			if i%2 == 1 {
				code, ms, next := 503, int64(42), now.Add(time.Hour)
				d.Status, d.AttemptCount, d.LastStatusCode, d.LastDurationMs, d.LastError, d.NextAttemptAt =
					models.DeliveryHeld, 2, &code, &ms, "boom", &next
				d.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			}
			ds = append(ds, d)
		}
		want := append([]models.Delivery(nil), ds...)
		if _, _, created, err := s.IngestEvent(ctx, ev, ds); err != nil || !created {
			t.Fatalf("ingest: created %v, %v", created, err)
		}
		got, err := s.EventDeliveries(ctx, models.DefaultTenant, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d deliveries stored, want %d", len(got), len(want))
		}
		for i := range want {
			w, g := want[i], got[i]
			w.TenantID = models.DefaultTenant
			if fmt.Sprint(deref(w)) != fmt.Sprint(deref(g)) {
				t.Errorf("delivery %d:\n got %v\nwant %v", i, deref(g), deref(w))
			}
		}
	})
}

// deref shows a delivery's pointer fields by value.
func deref(d models.Delivery) []any {
	out := []any{d.ID, d.TenantID, d.EventID, d.WebhookID, d.EventType, d.Status, d.Trigger, d.AttemptCount, d.LastError,
		d.BatchSize, d.BatchBytes, d.Starts, d.TraceParent, d.CreatedAt.UTC(), d.UpdatedAt.UTC()}
	for _, p := range []*time.Time{d.NextAttemptAt, d.DispatchedAt, d.BatchClosesAt} {
		if p != nil {
			out = append(out, p.UTC())
		} else {
			out = append(out, nil)
		}
	}
	if d.LastStatusCode != nil {
		out = append(out, *d.LastStatusCode)
	}
	if d.LastDurationMs != nil {
		out = append(out, *d.LastDurationMs)
	}
	return out
}
