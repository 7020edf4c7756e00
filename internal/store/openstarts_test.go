package store_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestClaimCountsStartsWithoutReadingParkedDeliveries: with 20,000
// deliveries parked on a retry timer, the claim's count of started
// deliveries reads deliveries_starting, not every delivery. On SQLite it
// runs inside the claim's write transaction, so a full read (about 20 ms
// with 100,000 parked) held up every other writer, ingest included; the
// query grouped by tenant first failed here. PostgreSQL, which has
// statistics, read the partial index either way: there it is a guard.
func TestClaimCountsStartsWithoutReadingParkedDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := tenantWebhook(t, s, "acme", "parked")
		outboxOf(t, s, []*models.Webhook{w}, 1)
		if ds, _, err := s.ClaimForStart(ctx, 1, 100, store.Now()); err != nil || len(ds) != 1 {
			t.Fatalf("claim: %d, %v", len(ds), err)
		}
		id := "'parked-' || i"
		if s.Dialect() == store.Postgres {
			id = "gen_random_uuid()"
		}
		now := store.Now()
		// As a failed attempt leaves them: claimed once, a retry due in 12 h.
		if err := s.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status,
				dispatched_at, attempt_count, next_attempt_at, created_at, updated_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
			SELECT `+id+`, ?, 'evt-parked-0', ?, 'order.created', 'awaitingRetry', ?, 1, ?, ?, ? FROM n`,
			w.TenantID, w.ID, now, now.Add(12*time.Hour), now, now); err != nil {
			t.Fatal(err)
		}
		// PostgreSQL's autovacuum gathers statistics; webhookd's SQLite
		// file never has any, so its plan must not depend on them.
		if s.Dialect() == store.Postgres {
			if err := s.Exec(ctx, "ANALYZE deliveries"); err != nil {
				t.Fatal(err)
			}
		}
		plan, err := s.ExplainOpenStarts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("count of started deliveries, 20,000 parked:\n%s", plan)
		if !strings.Contains(plan, "deliveries_starting") {
			t.Errorf("the count does not read deliveries_starting")
		}
		// The first Buffers line is the top node's: the whole query's pages.
		pages := 0
		if m := regexp.MustCompile(`Buffers: shared (?:hit|read)=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan); m != nil {
			for _, n := range m[1:] {
				k, _ := strconv.Atoi(n)
				pages += k
			}
		}
		if pages > 20 {
			t.Errorf("the count read %d pages, want a few", pages)
		}
		open, err := s.CountStarting(ctx)
		if err != nil || open != 1 {
			t.Fatalf("started = %d, %v; want 1", open, err)
		}
	})
}

// TestSQLiteLookupsReadTheirPartialIndexes: SQLite plans without
// statistics, so a lookup that an index of every delivery could serve in
// order walked the webhook's whole delivery log: ingest's search for a
// batching webhook's open batch (inside the write transaction, for every
// event) and the claim's check that no other delivery of a sequence is in
// flight. Each must read its partial index. PostgreSQL plans these by its
// statistics.
func TestSQLiteLookupsReadTheirPartialIndexes(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	for _, c := range []struct {
		name, index string
		plan        func() (string, error)
	}{
		{"open batch", "deliveries_open_batch", func() (string, error) { return s.SQLitePlanOfOpenBatches(ctx, "w") }},
		{"in flight beside", "deliveries_sequence", func() (string, error) { return s.SQLitePlanOfInFlightBeside(ctx) }},
	} {
		plan, err := c.plan()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", c.name, plan)
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "deliveries_webhook_log") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: the plan does not read %s alone, in order", c.name, c.index)
		}
	}
}
