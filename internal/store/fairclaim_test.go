package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// outboxOf ingests n deliveries to each webhook, all of a webhook's
// deliveries older than the next webhook's (the order in which an
// oldest-first outbox would hand them out).
func outboxOf(t *testing.T, s *store.Store, hooks []*models.Webhook, n int) {
	t.Helper()
	ctx := context.Background()
	at := store.Now().Add(-time.Hour)
	for _, w := range hooks {
		for i := range n {
			at = at.Add(time.Millisecond)
			ev := newEvent(fmt.Sprintf("evt-%s-%d", w.Name, i), at)
			ev.TenantID = w.TenantID
			d := newDelivery(ev, w.ID, models.DeliveryPending, at)
			d.TenantID = w.TenantID
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func tenantWebhook(t *testing.T, s *store.Store, tenant, name string) *models.Webhook {
	t.Helper()
	w := newWebhook(name)
	w.TenantID = tenant
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestClaimForStartInterleavesTenantsThenWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// Tenant acme's two webhooks have the oldest backlog; beta's one
		// webhook came last.
		a1 := tenantWebhook(t, s, "acme", "a1")
		a2 := tenantWebhook(t, s, "acme", "a2")
		b1 := tenantWebhook(t, s, "beta", "b1")
		outboxOf(t, s, []*models.Webhook{a1, a2, b1}, 10)
		name := map[string]string{a1.ID: "a1", a2.ID: "a2", b1.ID: "b1"}

		ds, full, err := s.ClaimForStart(ctx, 6, 100, store.Now())
		if err != nil || full {
			t.Fatalf("claim: %v full=%v", err, full)
		}
		var got []string
		for _, d := range ds {
			got = append(got, name[d.WebhookID])
		}
		// Tenants alternate (acme first: ties go by tenant id), and acme's
		// places alternate between its webhooks (in either order).
		want := []string{"a1", "b1", "a2", "b1", "a1", "b1"}
		if got[0] == "a2" {
			want = []string{"a2", "b1", "a1", "b1", "a2", "b1"}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("claim order = %v, want %v", got, want)
		}
		// Each webhook's deliveries leave oldest first.
		for i := 1; i < len(ds); i++ {
			for j := range i {
				if ds[j].WebhookID == ds[i].WebhookID && !ds[j].CreatedAt.Before(ds[i].CreatedAt) {
					t.Fatalf("webhook %s: claim %d is not older than claim %d", name[ds[i].WebhookID], j, i)
				}
			}
		}

		// The window is shared: with 6 started of a window of 9 and two
		// tenants active, each may hold 9/3 = 3; beta holds 3, acme 3.
		// Nothing more is claimed until some start is attempted, although
		// the window has room: it is full for them.
		ds, full, err = s.ClaimForStart(ctx, 100, 9, store.Now())
		if err != nil || !full || len(ds) != 0 {
			t.Fatalf("claim at share: %d claimed, full=%v, %v", len(ds), full, err)
		}
		// A newcomer finds room at once.
		c1 := tenantWebhook(t, s, "gamma", "c1")
		outboxOf(t, s, []*models.Webhook{c1}, 3)
		ds, _, err = s.ClaimForStart(ctx, 100, 9, store.Now())
		// Four active webhooks: each may hold 9/5 = 1.
		if err != nil || len(ds) != 1 || ds[0].WebhookID != c1.ID {
			t.Fatalf("newcomer's claim: %d claimed, %v", len(ds), err)
		}
		if n, _ := s.CountStarting(ctx); n != 7 {
			t.Fatalf("starting = %d, want 7", n)
		}
	})
}
