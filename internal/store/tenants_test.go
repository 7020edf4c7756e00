package store_test

import (
	"context"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func TestDeleteTenantLeavesOtherTenantsAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := store.Now()
		hooks := map[string]*models.Webhook{}
		for _, tenant := range []string{"acme", "beta"} {
			w := newWebhook("orders")
			w.TenantID = tenant
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			hooks[tenant] = w
			// The same event id in both tenants, with a delivery and an attempt.
			ev := newEvent("evt-1", now)
			ev.TenantID = tenant
			d := newDelivery(ev, w.ID, models.DeliveryAwaitingRetry, now)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID,
				DeliveryStatus: models.DeliveryAwaitingRetry, Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1,
					Trigger: models.TriggerScheduled, RequestURL: w.Endpoint, StartedAt: now, FinishedAt: now}}); err != nil {
				t.Fatal(err)
			}
		}
		open, err := s.OpenDeliveryIDs(ctx, "acme", "", 10)
		if err != nil || len(open) != 1 {
			t.Fatalf("open deliveries of acme: %v %v", open, err)
		}
		if err := s.DisableTenantWebhooks(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if active, _ := s.ActiveWebhooks(ctx, "acme"); len(active) != 0 {
			t.Fatalf("acme still has active webhooks: %v", active)
		}
		p, err := s.DeleteTenantData(ctx, "acme")
		if err != nil || p != (store.TenantPurge{Webhooks: 1, Events: 1, Deliveries: 1, Attempts: 1}) {
			t.Fatalf("purge: %+v %v", p, err)
		}
		if ok, err := s.TenantExists(ctx, "acme"); err != nil || ok {
			t.Fatalf("acme still exists: %v %v", ok, err)
		}
		// beta is untouched.
		if _, err := s.GetEvent(ctx, "beta", "evt-1"); err != nil {
			t.Fatalf("beta's event: %v", err)
		}
		if ds, _ := s.EventDeliveries(ctx, "beta", "evt-1"); len(ds) != 1 {
			t.Fatalf("beta's deliveries: %v", ds)
		}
		if as, _ := s.Attempts(ctx, mustOnly(t, s, "beta")); len(as) != 1 {
			t.Fatalf("beta's attempts: %v", as)
		}
		// A tenant with events but no webhooks is a tenant too.
		lone := newEvent("evt-lone", now)
		lone.TenantID = "gamma"
		if _, _, _, err := s.IngestEvent(ctx, lone, nil); err != nil {
			t.Fatal(err)
		}
		ts, err := s.ListTenants(ctx, "", 10)
		if err != nil || len(ts) != 2 || ts[0].TenantID != "beta" || ts[0].Webhooks != 1 ||
			ts[0].Deliveries[models.DeliveryAwaitingRetry] != 1 || ts[1].TenantID != "gamma" || ts[1].Webhooks != 0 {
			t.Fatalf("tenants: %+v %v", ts, err)
		}
		if ts, err := s.ListTenants(ctx, "beta", 10); err != nil || len(ts) != 1 || ts[0].TenantID != "gamma" {
			t.Fatalf("tenants after beta: %+v %v", ts, err)
		}
	})
}

func mustOnly(t *testing.T, s *store.Store, tenant string) string {
	t.Helper()
	ds, err := s.EventDeliveries(context.Background(), tenant, "evt-1")
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries of %s: %v %v", tenant, ds, err)
	}
	return ds[0].ID
}
