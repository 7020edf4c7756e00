package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func webhook(t *testing.T, s *store.Store, tenant, name string, edit func(w *models.Webhook)) *models.Webhook {
	t.Helper()
	now := store.Now()
	w := &models.Webhook{ID: uuid.NewString(), TenantID: tenant, Name: name, WebhookType: models.WebhookGeneric,
		Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
		EventFilters: []models.EventFilter{{EventType: "order.*"}}, Endpoint: "https://example.com/in", CreatedAt: now, UpdatedAt: now}
	if edit != nil {
		edit(w)
	}
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// waker counts wake-ups.
type waker struct{ now, at int }

func (w *waker) Wake()            { w.now++ }
func (w *waker) WakeAt(time.Time) { w.at++ }

// TestPausedWebhooksDeliveriesAreHeld: an event that matches a paused
// webhook still becomes a delivery, held (not waiting in the outbox), beside
// the pending delivery of a running one; the starter is woken either way,
// once the caller has the answer.
func TestPausedWebhooksDeliveriesAreHeld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		webhook(t, s, "acme", "running", nil)
		paused := webhook(t, s, "acme", "paused", nil)
		if _, _, err := s.SetPaused(ctx, paused.ID, true, "test"); err != nil {
			t.Fatal(err)
		}
		wk := &waker{}
		in := ingest.New(s, ingest.NewMatcher(s, 0), wk)
		res, err := in.Ingest(ctx, event("acme", "evt-1", "order.created"))
		if err != nil || len(res.Deliveries) != 2 || !res.Created {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		for _, d := range res.Deliveries {
			want := models.DeliveryPending
			if d.WebhookID == paused.ID {
				want = models.DeliveryHeld
			}
			if d.Status != want {
				t.Errorf("delivery to %s is %s, want %s", d.WebhookID, d.Status, want)
			}
		}
		if n, _ := s.CountUndispatched(ctx); n != 1 {
			t.Fatalf("outbox = %d, want only the running webhook's delivery", n)
		}
		if wk.now != 0 {
			t.Fatal("starter woken before the answer") // the API answers, then wakes it
		}
		in.Wake([]ingest.Ingested{res})
		if wk.now != 1 {
			t.Fatalf("starter woken %d times", wk.now)
		}
	})
}

// TestEventsReachOnlyTheirTenant: an event never becomes a delivery to
// another tenant's webhook, and one that names no tenant is the default's.
func TestEventsReachOnlyTheirTenant(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	acme := webhook(t, s, "acme", "orders", nil)
	webhook(t, s, "beta", "orders", nil)
	def := webhook(t, s, models.DefaultTenant, "orders", nil)
	in := ingest.New(s, ingest.NewMatcher(s, 0), &waker{})
	res, err := in.IngestMany(ctx, []models.Event{event("acme", "evt-1", "order.created"), event("", "evt-1", "order.created")})
	if err != nil {
		t.Fatal(err)
	}
	if d := res[0].Deliveries; len(d) != 1 || d[0].WebhookID != acme.ID {
		t.Fatalf("acme's event: %+v", d)
	}
	if d := res[1].Deliveries; len(d) != 1 || d[0].WebhookID != def.ID || res[1].Event.TenantID != models.DefaultTenant {
		t.Fatalf("an event of no tenant: %+v", res[1])
	}
}
