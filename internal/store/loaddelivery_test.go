package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestLoadDelivery: the one query LoadDelivery makes gives each row its
// own columns (the three tables share id, tenant_id, created_at), JSON
// columns decoded and secrets opened; a batch brings its events in order;
// a delivery gone with its hard-deleted webhook, or never stored, is
// ErrNotFound.
func TestLoadDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("w")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		ev := newEvent("evt-1", store.Now().Add(-2*time.Second))
		d := newDelivery(ev, w.ID, models.DeliveryPending, store.Now())
		if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		dc, err := s.LoadDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if dc.Delivery.ID != d.ID || dc.Delivery.EventID != ev.ID || dc.Delivery.WebhookID != w.ID || dc.Delivery.Status != models.DeliveryPending {
			t.Fatalf("delivery %+v", dc.Delivery)
		}
		if dc.Event.ID != ev.ID || !jsonEqual(dc.Event.Data, `{"n":1}`) || !dc.Event.CreatedAt.Equal(ev.CreatedAt) || dc.Event.CreatedAt.Equal(dc.Delivery.CreatedAt) {
			t.Fatalf("event %+v (delivery created %v)", dc.Event, dc.Delivery.CreatedAt)
		}
		wh := dc.Webhook
		if wh.ID != w.ID || wh.SecretKey != "s3cret" || wh.Endpoint != w.Endpoint || wh.Headers["X-A"] != "1" ||
			wh.Owner["name"] != "Data" || len(wh.EventFilters) != 1 || wh.MaxConcurrency != w.MaxConcurrency {
			t.Fatalf("webhook %+v", wh)
		}
		if dc.Batch != nil {
			t.Fatalf("an ordinary delivery has a batch: %v", dc.Batch)
		}

		// A batch delivery.
		bw := newWebhook("batching")
		bw.BatchEnabled, bw.BatchSize, bw.BatchMaxWaitMs = true, 10, 60000
		if err := s.CreateWebhook(ctx, bw); err != nil {
			t.Fatal(err)
		}
		var ins []store.Ingestion
		for _, id := range []string{"b-1", "b-2", "b-3"} {
			ins = append(ins, store.Ingestion{Event: newEvent(id, store.Now()), Batches: []store.BatchTarget{batchTarget(bw)}})
		}
		if _, err := s.IngestEvents(ctx, ins); err != nil {
			t.Fatal(err)
		}
		ds, err := s.EventDeliveries(ctx, models.DefaultTenant, "b-1")
		if err != nil || len(ds) != 1 {
			t.Fatalf("b-1's batch: %v %v", ds, err)
		}
		dc, err = s.LoadDelivery(ctx, ds[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if dc.Webhook.ID != bw.ID || len(dc.Batch) != 3 || dc.Batch[0].ID != "b-1" || dc.Batch[2].ID != "b-3" {
			t.Fatalf("batch delivery: webhook %s, events %+v", dc.Webhook.ID, dc.Batch)
		}

		if _, err := s.LoadDelivery(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown delivery: %v", err)
		}
		if err := s.HardDeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LoadDelivery(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
			// The delete cascades to the delivery: what a send of it finds.
			t.Fatalf("delivery of a hard-deleted webhook: %v", err)
		}
	})
}

func jsonEqual(got json.RawMessage, want string) bool {
	var a, b any
	return json.Unmarshal(got, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && reflect.DeepEqual(a, b)
}
