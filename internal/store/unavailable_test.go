package store_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestUnreachableDatabaseIsUnavailable: with the connection to PostgreSQL
// cut (idle connections dropped, new ones refused), reads, writes and pings
// fail with errors IsUnavailable recognises; the database's own refusals
// (not found, duplicates) are not; once it is back, the same store works.
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	proxy := storetest.NewProxy(t, dbURL)
	s := storetest.OpenURL(t, proxy.URL(dbURL), slog.New(slog.DiscardHandler))
	w := newWebhook("outage")
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetWebhook(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) || store.IsUnavailable(err) {
		t.Fatalf("a missing webhook: %v (unavailable: %v)", err, store.IsUnavailable(err))
	}
	if err := s.CreateWebhook(ctx, w); !errors.Is(err, store.ErrConflict) || store.IsUnavailable(err) {
		t.Fatalf("a duplicate: %v (unavailable: %v)", err, store.IsUnavailable(err))
	}
	proxy.Cut()
	if err := s.Ping(ctx); !store.IsUnavailable(err) {
		t.Errorf("ping with the database cut off: %v, not unavailable", err)
	}
	if _, err := s.GetWebhook(ctx, w.ID); !store.IsUnavailable(err) {
		t.Errorf("read with the database cut off: %v, not unavailable", err)
	}
	if err := s.CreateWebhook(ctx, newWebhook("during")); !store.IsUnavailable(err) {
		t.Errorf("write with the database cut off: %v, not unavailable", err)
	}
	proxy.Restore()
	if _, err := s.GetWebhook(ctx, w.ID); err != nil {
		t.Fatalf("read once the database is back: %v", err)
	}
}
