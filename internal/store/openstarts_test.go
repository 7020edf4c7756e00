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
// with 100,000 parked) held up every other writer, ingest included.
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
		if err := s.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
			SELECT `+id+`, ?, 'evt-parked-0', ?, 'order.created', 'awaitingRetry', ?, ?, ? FROM n`,
			w.TenantID, w.ID, now.Add(12*time.Hour), now, now); err != nil {
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
		if m := regexp.MustCompile(`Buffers: shared hit=(\d+)`).FindStringSubmatch(plan); m != nil {
			if hits, _ := strconv.Atoi(m[1]); hits > 20 {
				t.Errorf("the count read %d pages, want a few", hits)
			}
		}
		open, err := s.CountStarting(ctx)
		if err != nil || open != 1 {
			t.Fatalf("started = %d, %v; want 1", open, err)
		}
	})
}
