package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func newWebhook(name string) *models.Webhook {
	now := store.Now()
	return &models.Webhook{
		ID: uuid.NewString(), Name: name, WebhookType: models.WebhookGeneric, Enabled: true,
		Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
		EventFilters: []models.EventFilter{{EventType: "entityCreated", Entities: []string{"table"}}},
		Endpoint:     "https://example.com/hook", SecretKey: "s3cret",
		Headers:   map[string]string{"X-A": "1"},
		Owner:     models.EntityReference{"type": "team", "name": "Data"},
		Tags:      []map[string]any{{"tagFQN": "Integration.PagerDuty"}},
		CreatedAt: now, UpdatedAt: now,
	}
}

func TestWebhookRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("one")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetWebhook(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "one" || got.SecretKey != "s3cret" || got.Headers["X-A"] != "1" ||
			len(got.EventFilters) != 1 || got.EventFilters[0].Entities[0] != "table" ||
			got.Owner["name"] != "Data" || got.Tags[0]["tagFQN"] != "Integration.PagerDuty" ||
			!got.CreatedAt.Equal(w.CreatedAt) || got.Domain != nil {
			t.Fatalf("round trip changed the webhook: %+v", got)
		}
		byName, err := s.GetWebhookByName(ctx, models.DefaultTenant, "one", store.NonDeleted)
		if err != nil || byName.ID != w.ID {
			t.Fatalf("by name: %v %v", byName, err)
		}
		if _, err := s.GetWebhook(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing webhook: want ErrNotFound, got %v", err)
		}
	})
}

func TestWebhookNameUniqueAmongLive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := newWebhook("dup")
		if err := s.CreateWebhook(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateWebhook(ctx, newWebhook("dup")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("want ErrConflict, got %v", err)
		}
		if err := s.SoftDeleteWebhook(ctx, first.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateWebhook(ctx, newWebhook("dup")); err != nil {
			t.Fatalf("a soft-deleted name must be reusable: %v", err)
		}
		if _, err := s.GetWebhookByName(ctx, models.DefaultTenant, "dup", store.NonDeleted); err != nil {
			t.Fatal(err)
		}
		deleted, err := s.GetWebhook(ctx, first.ID)
		if err != nil || !deleted.Deleted || deleted.Enabled {
			t.Fatalf("soft delete: %+v %v", deleted, err)
		}
	})
}

func TestListWebhooksPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 7 {
			if err := s.CreateWebhook(ctx, newWebhook(fmt.Sprintf("hook-%02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		gone := newWebhook("hook-99")
		if err := s.CreateWebhook(ctx, gone); err != nil {
			t.Fatal(err)
		}
		if err := s.SoftDeleteWebhook(ctx, gone.ID, "test"); err != nil {
			t.Fatal(err)
		}
		var names []string
		p := store.WebhookPage{Limit: 3}
		for {
			page, total, err := s.ListWebhooks(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if total != 7 {
				t.Fatalf("total = %d, want 7", total)
			}
			for _, w := range page {
				names = append(names, w.Name)
			}
			if len(page) < p.Limit {
				break
			}
			last := page[len(page)-1]
			p.AfterName, p.AfterID = last.Name, last.ID
		}
		want := "[hook-00 hook-01 hook-02 hook-03 hook-04 hook-05 hook-06]"
		if fmt.Sprint(names) != want {
			t.Fatalf("pages = %v, want %s", names, want)
		}
		_, total, err := s.ListWebhooks(ctx, store.WebhookPage{Limit: 100, Include: store.All})
		if err != nil || total != 8 {
			t.Fatalf("include all: total %d, %v", total, err)
		}
		deleted, total, err := s.ListWebhooks(ctx, store.WebhookPage{Limit: 1, Include: store.Deleted})
		if err != nil || total != 1 || len(deleted) != 1 || deleted[0].Name != "hook-99" {
			t.Fatalf("include deleted: %v total %d, %v", deleted, total, err)
		}
	})
}

func TestUpdateWebhookOptimisticLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("lock")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		w.Description = "changed"
		w.Version = 0.2
		if err := s.UpdateWebhook(ctx, w, 0.1, true); err != nil {
			t.Fatal(err)
		}
		w.Description = "stale"
		w.Version = 0.2
		if err := s.UpdateWebhook(ctx, w, 0.1, true); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale version: want ErrStale, got %v", err)
		}
		got, _ := s.GetWebhook(ctx, w.ID)
		if got.Description != "changed" {
			t.Fatalf("stale write landed: %q", got.Description)
		}
		// A receiver's 410 disables the webhook without bumping its version;
		// an edit read before it must not re-enable the webhook.
		stale, _ := s.GetWebhook(ctx, w.ID)
		now := store.Now()
		ev := &models.Event{ID: "evt-410", Type: "t", Timestamp: now, CreatedAt: now}
		d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: w.ID, EventType: "t",
			Status: models.DeliveryDelivering, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
		if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID,
			DeliveryStatus: models.DeliveryFailed, WebhookStatus: models.WebhookDisabled}); err != nil {
			t.Fatal(err)
		}
		edit := *stale
		edit.Description, edit.Version = "edited", 0.3
		if err := s.UpdateWebhook(ctx, &edit, 0.2, stale.Enabled); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetWebhook(ctx, w.ID); got.Enabled || got.Status != models.WebhookDisabled || got.Description != "edited" {
			t.Fatalf("an edit undid the 410: %+v", got)
		}
		// Disabling it from a copy read before the 410 (enabled=true) races
		// with the 410: a conflict, not a silent overwrite.
		toggle := *stale
		toggle.Enabled, toggle.Status, toggle.Version = false, models.WebhookDisabled, 0.4
		if err := s.UpdateWebhook(ctx, &toggle, 0.3, true); !errors.Is(err, store.ErrStale) {
			t.Fatalf("toggle against a changed enabled flag: %v", err)
		}
		if err := s.HardDeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWebhook(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("hard delete left the row: %v", err)
		}
	})
}

func TestRequireCurrentSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.RequireCurrentSchema(context.Background()); err != nil {
			t.Fatalf("migrated store reported behind: %v", err)
		}
	})
	// A store that was never migrated must refuse.
	s, err := store.Open(context.Background(), storetest.SQLiteURL(t), discard())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RequireCurrentSchema(context.Background()); !errors.Is(err, store.ErrSchemaBehind) {
		t.Fatalf("want ErrSchemaBehind, got %v", err)
	}
}

// TestMatchingLoadsOnlyTheTenantsWebhooks: the matcher's load of a tenant
// reads that tenant's live, enabled webhooks and nothing of another's,
// however alike their names and filters.
func TestMatchingLoadsOnlyTheTenantsWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		want := map[string]bool{}
		for _, tenant := range []string{"acme", "beta", models.DefaultTenant} {
			w := newWebhook("orders")
			w.TenantID = tenant
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			if tenant == "acme" {
				want[w.ID] = true
			}
		}
		off := newWebhook("disabled")
		off.TenantID, off.Enabled, off.Status = "acme", false, models.WebhookDisabled
		gone := newWebhook("gone")
		gone.TenantID = "acme"
		for _, w := range []*models.Webhook{off, gone} {
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SoftDeleteWebhook(ctx, gone.ID, "test"); err != nil {
			t.Fatal(err)
		}
		hooks, err := s.MatchableWebhooks(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(hooks) != len(want) {
			t.Fatalf("loaded %d webhooks, want %d", len(hooks), len(want))
		}
		for _, w := range hooks {
			if !want[w.ID] || w.TenantID != "acme" {
				t.Fatalf("loaded %s of tenant %s", w.ID, w.TenantID)
			}
		}
	})
}
