package ingest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func event(tenant, id, typ string) models.Event {
	return models.Event{TenantID: tenant, ID: id, Type: typ, Data: json.RawMessage(`{}`), Timestamp: time.Now()}
}

func matchIDs(t *testing.T, m *ingest.Matcher, tenant, typ string) map[string]bool {
	t.Helper()
	ev, err := filter.ParseEvent(typ, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := m.Match(context.Background(), tenant, ev)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, w := range hooks {
		out[w.ID] = true
	}
	return out
}

// TestMatcherSeesEveryChange: a webhook created, changed, disabled (by the
// API or by a 410 recorded elsewhere) or deleted is seen by the next event:
// at once when this process made the change (Invalidate), within MaxAge when
// another did (the version a trigger keeps).
func TestMatcherSeesEveryChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const maxAge = 50 * time.Millisecond
		m := ingest.NewMatcher(s, maxAge)
		if got := matchIDs(t, m, "acme", "order.created"); len(got) != 0 {
			t.Fatalf("empty tenant matched %v", got)
		}
		now := store.Now()
		w := &models.Webhook{ID: uuid.NewString(), TenantID: "acme", Name: "m", WebhookType: models.WebhookGeneric,
			Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
			EventFilters: []models.EventFilter{{EventType: "order.created"}}, Endpoint: "https://e.x", CreatedAt: now, UpdatedAt: now}
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		// Another process created it: seen once the cache is older than maxAge.
		time.Sleep(2 * maxAge)
		if got := matchIDs(t, m, "acme", "order.created"); !got[w.ID] {
			t.Fatal("a created webhook was not seen")
		}
		if got := matchIDs(t, m, "beta", "order.created"); len(got) != 0 {
			t.Fatal("another tenant's event matched")
		}
		// Changed by this process: seen by the very next event.
		w.EventFilters = []models.EventFilter{{EventType: "order.*"}}
		if err := s.UpdateWebhook(ctx, w, w.Version, true); err != nil {
			t.Fatal(err)
		}
		m.Invalidate("acme")
		if got := matchIDs(t, m, "acme", "order.paid"); !got[w.ID] {
			t.Fatal("a changed filter was not seen by the next event")
		}
		// A health update (a failed attempt) does not move the version.
		v1, _ := s.MatcherVersion(ctx, "acme")
		ev := event("acme", "evt-1", "order.paid")
		d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: w.ID, EventType: ev.Type,
			Status: models.DeliveryPending, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
		if _, _, _, err := s.IngestEvent(ctx, &ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		code := 500
		failure := store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryAwaitingRetry,
			WebhookStatus: models.WebhookAwaitingRetry, Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1,
				Trigger: models.TriggerScheduled, RequestURL: w.Endpoint, ResponseStatus: &code, StartedAt: now, FinishedAt: now}}
		if err := s.RecordAttempt(ctx, failure); err != nil {
			t.Fatal(err)
		}
		if v2, _ := s.MatcherVersion(ctx, "acme"); v2 != v1 {
			t.Fatalf("a health update moved the version %d -> %d", v1, v2)
		}
		// Disabled by a 410 recorded by a worker: seen within maxAge.
		gone := 410
		failure.WebhookStatus, failure.DeliveryStatus = models.WebhookDisabled, models.DeliveryFailed
		failure.Attempt = &models.Attempt{DeliveryID: d.ID, Number: 2, Trigger: models.TriggerScheduled,
			RequestURL: w.Endpoint, ResponseStatus: &gone, StartedAt: now, FinishedAt: now}
		if err := s.RecordAttempt(ctx, failure); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * maxAge)
		if got := matchIDs(t, m, "acme", "order.paid"); got[w.ID] {
			t.Fatal("a webhook disabled by a 410 still matched")
		}
		// Deleted: gone.
		w2 := *w
		w2.ID, w2.Name = uuid.NewString(), "m2"
		if err := s.CreateWebhook(ctx, &w2); err != nil {
			t.Fatal(err)
		}
		m.Invalidate("acme")
		if got := matchIDs(t, m, "acme", "order.paid"); !got[w2.ID] {
			t.Fatal("second webhook not seen")
		}
		if err := s.HardDeleteWebhook(ctx, w2.ID); err != nil {
			t.Fatal(err)
		}
		m.Invalidate("acme")
		if got := matchIDs(t, m, "acme", "order.paid"); len(got) != 0 {
			t.Fatalf("a deleted webhook still matched: %v", got)
		}
	})
}

func BenchmarkMatch10000Webhooks(b *testing.B) {
	s := storetest.Open(b, store.Postgres)
	ctx := context.Background()
	now := store.Now()
	for i := range 10000 {
		w := &models.Webhook{ID: uuid.NewString(), TenantID: "acme", Name: uuid.NewString(), WebhookType: models.WebhookGeneric,
			Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
			EventFilters: []models.EventFilter{{EventType: "type." + uuid.NewString()}}, Endpoint: "https://e.x", CreatedAt: now, UpdatedAt: now}
		if i == 0 {
			w.EventFilters = []models.EventFilter{{EventType: "order.*"}}
		}
		if err := s.CreateWebhook(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	m := ingest.NewMatcher(s, time.Hour)
	ev, _ := filter.ParseEvent("order.created", "", nil, nil)
	b.ResetTimer()
	for b.Loop() {
		hooks, err := m.Match(ctx, "acme", ev)
		if err != nil || len(hooks) != 1 {
			b.Fatalf("%d %v", len(hooks), err)
		}
	}
}
