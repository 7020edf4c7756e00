package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3/lock"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestTenantMigrationKeepsFirstReleaseRows builds a database as the first
// release left it (schema version 1, with a webhook, an event, a delivery and
// an attempt), migrates it, and finds every row in the default tenant, still
// linked, and the new per-tenant rules in force.
func TestTenantMigrationKeepsFirstReleaseRows(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.SQLiteURL(t)
			if d == store.Postgres {
				url = storetest.EmptyPostgresURL(t)
			}
			s, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.MigrateTo(ctx, 1); err != nil {
				t.Fatal(err)
			}
			const (
				hookID     = "0190a000-0000-7000-8000-000000000001"
				deliveryID = "0190a000-0000-7000-8000-000000000002"
			)
			now := store.Now()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO webhooks (id, name, webhook_type, event_filters, endpoint, secret_key, created_at, updated_at)
				  VALUES (?, 'orders', 'Generic', '[{"eventType":"*"}]', 'https://example.com/in', 's3cret', ?, ?)`, []any{hookID, now, now}},
				{`INSERT INTO events (id, type, timestamp, created_at) VALUES ('evt-1', 'order.created', ?, ?)`, []any{now, now}},
				{`INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, created_at, updated_at)
				  VALUES (?, 'evt-1', ?, 'order.created', 'failed', ?, ?)`, []any{deliveryID, hookID, now, now}},
				{`INSERT INTO attempts (delivery_id, number, trigger, request_url, started_at, finished_at)
				  VALUES (?, 1, 'scheduled', 'https://example.com/in', ?, ?)`, []any{deliveryID, now, now}},
			} {
				if err := s.Exec(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("first-release row: %v", err)
				}
			}
			if err := s.RequireCurrentSchema(ctx); err == nil {
				t.Fatal("a version-1 schema must count as behind")
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}

			w, err := s.GetWebhookByName(ctx, models.DefaultTenant, "orders", store.NonDeleted)
			if err != nil || w.ID != hookID || w.TenantID != models.DefaultTenant || w.SecretKey == "" {
				t.Fatalf("webhook after migration: %+v %v", w, err)
			}
			ev, err := s.GetEvent(ctx, models.DefaultTenant, "evt-1")
			if err != nil || ev.TenantID != models.DefaultTenant {
				t.Fatalf("event after migration: %+v %v", ev, err)
			}
			dc, err := s.LoadDelivery(ctx, deliveryID)
			if err != nil || dc.Delivery.TenantID != models.DefaultTenant || dc.Event.ID != "evt-1" || dc.Webhook.ID != hookID {
				t.Fatalf("delivery after migration: %+v %v", dc, err)
			}
			if as, err := s.Attempts(ctx, deliveryID); err != nil || len(as) != 1 {
				t.Fatalf("attempts after migration: %v %v", as, err)
			}
			// Event ids are now per tenant: another tenant may use evt-1.
			other := &models.Event{TenantID: "acme", ID: "evt-1", Type: "order.created", Timestamp: now, CreatedAt: now}
			if _, _, created, err := s.IngestEvent(ctx, other, nil); err != nil || !created {
				t.Fatalf("evt-1 in another tenant: created=%v %v", created, err)
			}
			// The database refuses a delivery joining two tenants' rows.
			cross := models.Delivery{ID: "0190a000-0000-7000-8000-000000000003", TenantID: "acme", EventID: "evt-1",
				WebhookID: hookID, EventType: "order.created", Status: models.DeliveryPending, CreatedAt: now, UpdatedAt: now}
			if err := s.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, cross.ID, cross.TenantID, cross.EventID, cross.WebhookID, cross.EventType,
				cross.Status, now, now); err == nil {
				t.Fatal("a delivery of acme's event to a default-tenant webhook was accepted")
			}
			// Hard-deleting the webhook still cascades to its log.
			if err := s.HardDeleteWebhook(ctx, hookID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetDelivery(ctx, deliveryID); err == nil {
				t.Fatal("the delivery outlived its hard-deleted webhook")
			}
		})
	}
}

// TestCatalogMigrationKeepsWebhooks upgrades a database as the secrets
// release left it (version 5) to the event catalog: webhooks and their
// filters read back unchanged, and the catalog starts empty.
func TestCatalogMigrationKeepsWebhooks(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.SQLiteURL(t)
			if d == store.Postgres {
				url = storetest.EmptyPostgresURL(t)
			}
			s, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.UseKeyring(storetest.Keyring(t))
			if err := s.MigrateTo(ctx, 5); err != nil {
				t.Fatal(err)
			}
			const hookID = "0190a000-0000-7000-8000-000000000001"
			now := store.Now()
			filters := `[{"eventType":"entityUpdated","entities":["table"],"include":["tags","domain:Sales"],"exclude":["owner"]}]`
			if err := s.Exec(ctx, `INSERT INTO webhooks (id, tenant_id, name, webhook_type, event_filters, endpoint, created_at, updated_at)
				VALUES (?, 'acme', 'orders', 'Generic', ?, 'https://example.com/in', ?, ?)`, hookID, filters, now, now); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			// A new connection, as after a deploy: SQLite's prepared
			// statements from before the migration see the old columns.
			s.Close()
			if s, err = store.Open(ctx, url, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.UseKeyring(storetest.Keyring(t))
			w, err := s.GetWebhook(ctx, hookID)
			if err != nil {
				t.Fatal(err)
			}
			want := []models.EventFilter{{EventType: "entityUpdated", Entities: []string{"table"}, Include: []string{"tags", "domain:Sales"}, Exclude: []string{"owner"}}}
			if !reflect.DeepEqual(w.EventFilters, want) {
				t.Fatalf("filters after the migration: %+v", w.EventFilters)
			}
			if ts, total, err := s.ListEventTypes(ctx, store.EventTypePage{TenantID: "acme", Limit: 10}); err != nil || total != 0 || len(ts) != 0 {
				t.Fatalf("catalog after the migration: %v %d %v", ts, total, err)
			}
		})
	}
}

// TestConcurrentMigratesTakeTurns: two `webhookd migrate` runs at once
// (two replicas' init containers) do not apply a migration twice. While
// another process holds the migration lock neither migrates; once it is
// free, one applies everything and the other finds nothing to do, and the
// lock is free again after them.
func TestConcurrentMigratesTakeTurns(t *testing.T) {
	ctx := t.Context()
	url := storetest.EmptyPostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Another holder of goose's lock row, as another `webhookd migrate`
	// (through a pooler or not) would hold it.
	holder := func() lock.Locker {
		l, err := lock.NewPostgresTableLocker(lock.WithTableLockTimeout(100*time.Millisecond, 1),
			lock.WithTableLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	other := holder()
	if err := other.Lock(ctx, db); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		s, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		go func() {
			n, err := s.Migrate(ctx)
			results <- result{n, err}
		}()
	}
	select {
	case r := <-results:
		t.Fatalf("a migrate returned (%d applied, %v) while another process held the lock", r.n, r.err)
	case <-time.After(3 * time.Second):
	}
	if err := other.Unlock(ctx, db); err != nil {
		t.Fatal(err)
	}
	var applied []int
	for range 2 {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatalf("migrate: %v", r.err)
			}
			applied = append(applied, r.n)
		case <-time.After(2 * time.Minute):
			t.Fatalf("migrate still waiting 2 min after the lock was freed (applied so far: %v)", applied)
		}
	}
	slices.Sort(applied)
	if applied[0] != 0 || applied[1] == 0 {
		t.Fatalf("migrations applied by the two runs: %v; want all by one and none by the other", applied)
	}
	after := holder()
	if err := after.Lock(ctx, db); err != nil {
		t.Fatalf("the migration lock is still held after both runs: %v", err)
	}
	if err := after.Unlock(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationLockGivesUpOnAPermanentError: a migrate waits while the lock
// is held or the server is briefly away, and fails at once on an error
// that waiting cannot cure (no privilege on goose_lock), instead of
// retrying it for 15 minutes.
func TestMigrationLockGivesUpOnAPermanentError(t *testing.T) {
	retry := store.LockRetryable(slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errors.New("acquire lock 4097083626: already held by another instance"), true},
		{fmt.Errorf("acquire lock: %w", &pgconn.PgError{Code: "57P03"}), true},  // cannot connect now
		{fmt.Errorf("acquire lock: %w", &pgconn.PgError{Code: "40001"}), true},  // serialization failure
		{fmt.Errorf("acquire lock: %w", &pgconn.PgError{Code: "42501"}), false}, // insufficient privilege
		{fmt.Errorf("acquire lock: %w", &pgconn.PgError{Code: "42P01"}), false}, // undefined table
	} {
		if got := retry(c.err); got != c.want {
			t.Errorf("retry %v = %t, want %t", c.err, got, c.want)
		}
	}
}
