package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestDeliveryQueriesAreIndexBacked shows PostgreSQL's plan for every list
// query of the API and checks each is served by the index made for it.
func TestDeliveryQueriesAreIndexBacked(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	now := store.Now()
	cases := []struct {
		name  string
		q     store.DeliveryQuery
		index string // any of these, separated by |
	}{
		{"webhook log", store.DeliveryQuery{WebhookID: "0190a000-0000-7000-8000-000000000001", Limit: 50}, "deliveries_webhook_log"},
		{"webhook log, filtered, next page", store.DeliveryQuery{WebhookID: "0190a000-0000-7000-8000-000000000001", Status: models.DeliveryFailed,
			EventType: "order.paid", Since: now.Add(-time.Hour), Until: now, Limit: 50, AfterCreated: now, AfterID: "0190a000-0000-7000-8000-000000000009"},
			"deliveries_webhook_log|deliveries_dlq"},
		{"dead-letter queue", store.DeliveryQuery{Status: models.DeliveryFailed, Limit: 50}, "deliveries_dlq"},
		{"a tenant's dead-letter queue", store.DeadLetters(store.DeliveryQuery{TenantID: "t3", Limit: 50}), "deliveries_tenant_dlq"},
		{"dead-letter queue, next page", store.DeliveryQuery{Status: models.DeliveryFailed, Limit: 50, AfterCreated: now,
			AfterID: "0190a000-0000-7000-8000-000000000009"}, "deliveries_dlq"},
	}
	for _, c := range cases {
		plan, err := s.ExplainDeliveries(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", c.name, plan)
		used := false
		for _, idx := range strings.Split(c.index, "|") {
			used = used || strings.Contains(plan, idx)
		}
		if !used || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: plan does not use %s", c.name, c.index)
		}
	}
}

// TestEventQueriesAreIndexBacked: every form of GET /events is served by an
// index in the list's order, first page and later ones, on a table of
// 200,000 events from 20 tenants.
func TestEventQueriesAreIndexBacked(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	now := store.Now()
	db := storetest.Inspect(t, url)
	db.Exec(`INSERT INTO events (tenant_id, id, type, timestamp, created_at)
		SELECT 't' || (i % 20), 'evt-' || i, 'order.' || (i % 7), now(), now() - (200000 - i) * interval '1 second'
		FROM generate_series(1, 200000) i`)
	db.Exec(`ANALYZE events`)
	cases := []struct {
		name  string
		q     store.EventQuery
		index string
	}{
		{"every tenant", store.EventQuery{Limit: 50}, "events_created_at"},
		{"every tenant, next page", store.EventQuery{Limit: 50, AfterCreated: now, AfterTenantID: "t3", AfterID: "evt-9"}, "events_created_at"},
		{"one tenant", store.EventQuery{TenantID: "t3", Limit: 50}, "events_tenant_created"},
		{"one tenant, a window, next page", store.EventQuery{TenantID: "t3", Since: now.Add(-time.Hour), Until: now, Limit: 50,
			AfterCreated: now.Add(-30 * time.Minute), AfterTenantID: "t3", AfterID: "evt-9"},
			// A narrow window may be cheaper to read by time: both indexes
			// hold tenant_id, so either reads only the tenant's rows in order.
			"events_tenant_created|events_created_at"},
		{"one tenant, one type", store.EventQuery{TenantID: "t3", Type: "order.3", Limit: 50}, "events_tenant_type"},
		{"one tenant, one type, next page", store.EventQuery{TenantID: "t3", Type: "order.3", Limit: 50,
			AfterCreated: now, AfterTenantID: "t3", AfterID: "evt-9"}, "events_tenant_type"},
	}
	for _, c := range cases {
		plan, err := s.ExplainEvents(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", c.name, plan)
		used := false
		for _, idx := range strings.Split(c.index, "|") {
			used = used || strings.Contains(plan, idx)
		}
		if !used || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
			t.Errorf("%s: plan does not read %s in order", c.name, c.index)
		}
	}
}

// TestStatsQueryReadsBucketsByKey: GET /webhooks/{id}/stats reads one
// webhook's five-minute buckets through the primary key, on a table holding
// a million attempts' worth of other webhooks' buckets, and the number of
// rows it reads depends on the window, not on the webhook's deliveries.
func TestStatsQueryReadsBucketsByKey(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	w := newWebhook("busy")
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	// 30 days of buckets for this webhook and 50 others (about 440,000
	// rows), as a busy system keeps.
	db := storetest.Inspect(t, url)
	db.Exec(`INSERT INTO webhooks (id, tenant_id, name, webhook_type, event_filters, endpoint, created_at, updated_at)
		SELECT gen_random_uuid(), 'default', 'other-' || i, 'Generic', '[]', 'https://e.x', now(), now() FROM generate_series(1, 50) i`)
	// In time order, as buckets are written.
	db.Exec(`INSERT INTO webhook_stats (webhook_id, bucket, attempts, successes)
		SELECT w.id, date_trunc('hour', now()) - b * interval '5 minutes', 2300, 2290
		FROM generate_series(8639, 0, -1) b, webhooks w`)
	db.Exec(`ANALYZE webhook_stats`)
	plan, err := s.ExplainStats(ctx, w.ID, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats over 24h:\n%s", plan)
	if !strings.Contains(plan, "webhook_stats_pkey") || strings.Contains(plan, "Seq Scan") {
		t.Fatalf("the stats query does not read by primary key:\n%s", plan)
	}
	st, err := s.StatsSince(ctx, w.ID, time.Now().Add(-24*time.Hour))
	if buckets := st.Attempts / 2300; err != nil || buckets < 276 || buckets > 289 { // 24 h of 5-minute buckets, give or take the edges
		t.Fatalf("a day of buckets: %+v %v", st.Attempts, err)
	}
}

// TestEventTypeListIsIndexBacked: a tenant's catalog page reads its own
// types and the global ones through the scope index, in name order (two
// scans merged, no sort, no other tenant's rows); the admin's list of every
// tenant reads the name index. 100,000 types of 1,000 tenants, 100 global.
func TestEventTypeListIsIndexBacked(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	db := storetest.Inspect(t, url)
	db.Exec(`INSERT INTO event_types (id, tenant_id, name, created_at, updated_at)
		SELECT gen_random_uuid(), CASE WHEN i % 1000 = 0 THEN '*' ELSE 't' || (i % 1000) END, 'type.' || i, now(), now()
		FROM generate_series(1, 100000) i`)
	db.Exec(`ANALYZE event_types`)
	cases := []struct {
		name  string
		p     store.EventTypePage
		index string
		merge bool
	}{
		{"a tenant's catalog", store.EventTypePage{TenantID: "t3", Limit: 50}, "event_types_scope_list", true},
		{"a tenant's catalog, next page", store.EventTypePage{TenantID: "t3", Limit: 50, AfterName: "type.5003", AfterID: "0190a000-0000-7000-8000-000000000009"},
			"event_types_scope_list", true},
		{"the global types", store.EventTypePage{TenantID: models.GlobalTenant, Limit: 50}, "event_types_scope_list", false},
		{"every tenant's", store.EventTypePage{Limit: 50}, "event_types_list", false},
		{"every tenant's, next page", store.EventTypePage{Limit: 50, AfterName: "type.5003", AfterID: "0190a000-0000-7000-8000-000000000009"},
			"event_types_list", false},
	}
	for _, c := range cases {
		plan, err := s.ExplainEventTypes(ctx, c.p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", c.name, plan)
		// "Sort  (" is a sort node (or an incremental one); Merge Append's
		// "Sort Key" is not.
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort  (") {
			t.Errorf("%s: plan does not read %s in order", c.name, c.index)
		}
		if c.merge && (!strings.Contains(plan, "Merge Append") || strings.Count(plan, c.index) != 2) {
			t.Errorf("%s: not two index scans merged", c.name)
		}
	}
	// And the page is right: t3's 100 types and the 100 global ones, by name.
	page, total, err := s.ListEventTypes(ctx, store.EventTypePage{TenantID: "t3", Limit: 5})
	if err != nil || total != 200 || len(page) != 5 || page[0].Name != "type.1000" || page[1].Name != "type.10000" {
		t.Fatalf("t3's first page: %d of %d, %v", len(page), total, err)
	}
}

// TestWaitingQueriesReadOnlyTheWaiting: a webhook's waiting deliveries are
// counted (GET /webhooks/{id}/stats) and listed (an edit of its limits)
// through deliveries_waiting, not by reading its whole backlog: 200,000
// deliveries open, 200 of them waiting.
func TestWaitingQueriesReadOnlyTheWaiting(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := t.Context()
	w := newWebhook("busy")
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	db := storetest.Inspect(t, url)
	db.Exec(`INSERT INTO events (tenant_id, id, type, timestamp, created_at)
		SELECT 'default', 'evt-' || i, 'order.created', now(), now() FROM generate_series(1, 200000) i`)
	db.Exec(`INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, dispatched_at, created_at, updated_at, waiting_for)
		SELECT gen_random_uuid(), 'default', 'evt-' || i, '` + w.ID + `', 'order.created', 'pending', now(), now(), now(),
			CASE WHEN i % 1000 = 0 THEN 'rateLimit' WHEN i % 1000 = 1 THEN 'concurrency' ELSE '' END
		FROM generate_series(1, 200000) i`)
	db.Exec(`ANALYZE deliveries`)
	st, err := s.WebhookLimiter(ctx, w.ID)
	if err != nil || st.Waiting[models.WaitingForRateLimit] != 200 || st.Waiting[models.WaitingForConcurrency] != 200 {
		t.Fatalf("%+v %v, want 200 waiting for each limit", st, err)
	}
	plans, err := s.ExplainWaiting(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, plan := range plans {
		t.Logf("%s:\n%s", name, plan)
		if !strings.Contains(plan, "deliveries_waiting") {
			t.Errorf("%s: plan does not use deliveries_waiting", name)
		}
	}
}
