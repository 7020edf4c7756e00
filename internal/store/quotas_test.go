package store_test

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

func TestWebhookQuotaHoldsUnderConcurrentCreates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const limit = 5
		var created atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				w := newWebhook(fmt.Sprintf("q%02d", i))
				w.TenantID = "acme"
				err := s.CreateWebhookWithin(ctx, w, limit)
				var q *store.QuotaError
				switch {
				case err == nil:
					created.Add(1)
				case !errors.As(err, &q) || q.What != "webhooks" || q.Limit != limit || q.RetryAfter != 0:
					t.Errorf("create %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if created.Load() != limit {
			t.Fatalf("%d webhooks created under a quota of %d", created.Load(), limit)
		}
		// Other tenants have their own quota; a deleted webhook frees room.
		other := newWebhook("q-other")
		other.TenantID = "beta"
		if err := s.CreateWebhookWithin(ctx, other, limit); err != nil {
			t.Fatal(err)
		}
		ws, _, err := s.ListWebhooks(ctx, store.WebhookPage{TenantID: "acme", Limit: 100})
		if err != nil || len(ws) != limit {
			t.Fatalf("acme's webhooks: %d %v", len(ws), err)
		}
		if err := s.SoftDeleteWebhook(ctx, ws[0].ID, "test"); err != nil {
			t.Fatal(err)
		}
		again := newWebhook("q-again")
		again.TenantID = "acme"
		if err := s.CreateWebhookWithin(ctx, again, limit); err != nil {
			t.Fatalf("after a delete: %v", err)
		}
		// The name rule still holds inside the quota's transaction.
		dup := newWebhook("q-again")
		dup.TenantID = "beta"
		if err := s.CreateWebhookWithin(ctx, dup, limit); err != nil {
			t.Fatal(err)
		}
		dup = newWebhook("q-again")
		dup.TenantID = "beta"
		if err := s.CreateWebhookWithin(ctx, dup, limit); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a taken name: %v", err)
		}
	})
}

// TestSoftDeletedWebhooksCountTowardTheQuota: a create/delete loop cannot
// grow a tenant's rows without bound; soft-deleted webhooks count toward
// KeptWebhooks until they are removed for good.
func TestSoftDeletedWebhooksCountTowardTheQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const limit = 3
		var refused *store.QuotaError
		for i := range 20 {
			w := newWebhook(fmt.Sprintf("churn%02d", i))
			w.TenantID = "acme"
			if err := s.CreateWebhookWithin(ctx, w, limit); err != nil {
				if !errors.As(err, &refused) {
					t.Fatal(err)
				}
				break
			}
			if err := s.SoftDeleteWebhook(ctx, w.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if refused == nil || refused.What != "kept webhooks" || refused.Limit != store.KeptWebhooks(limit) {
			t.Fatalf("a create/delete loop: %v", refused)
		}
		if _, rows, err := s.ListWebhooks(ctx, store.WebhookPage{TenantID: "acme", Include: store.All, Limit: 1}); err != nil ||
			rows != int64(store.KeptWebhooks(limit)) {
			t.Fatalf("acme keeps %d rows (%v)", rows, err)
		}
		// Removing one for good frees room.
		ws, _, err := s.ListWebhooks(ctx, store.WebhookPage{TenantID: "acme", Include: store.Deleted, Limit: 1})
		if err != nil || len(ws) != 1 {
			t.Fatalf("deleted webhooks: %d %v", len(ws), err)
		}
		if err := s.HardDeleteWebhook(ctx, ws[0].ID); err != nil {
			t.Fatal(err)
		}
		w := newWebhook("after-hard-delete")
		w.TenantID = "acme"
		if err := s.CreateWebhookWithin(ctx, w, limit); err != nil {
			t.Fatalf("after a hard delete: %v", err)
		}
	})
}

func TestEventQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const rate = 600 // a burst of 600 at once, then one every 1.67 ms
		if err := s.TakeEvents(ctx, "acme", 600, rate); err != nil {
			t.Fatalf("a full burst: %v", err)
		}
		var q *store.QuotaError
		if err := s.TakeEvents(ctx, "acme", 100, rate); !errors.As(err, &q) || q.What != "events" ||
			q.RetryAfter <= 0 || q.RetryAfter > 200*time.Millisecond {
			t.Fatalf("past the burst: %v", err)
		}
		if err := s.TakeEvents(ctx, "beta", 600, rate); err != nil {
			t.Fatalf("another tenant: %v", err)
		}
		if err := s.TakeEvents(ctx, "gamma", 601, rate); !errors.As(err, &q) {
			t.Fatalf("more than a burst at once: %v", err)
		}
		time.Sleep(q.RetryAfter)
		if err := s.TakeEvents(ctx, "acme", 1, rate); err != nil {
			t.Fatalf("after waiting: %v", err)
		}
		if err := s.TakeEvents(ctx, "acme", 5, 0); err != nil {
			t.Fatalf("no quota: %v", err)
		}
	})
}

// TestEventQuotaHoldsAcrossReplicas: two stores on one database (two api
// replicas) posting for one tenant at once are admitted, together, no more
// than the burst plus what the rate adds while they run.
func TestEventQuotaHoldsAcrossReplicas(t *testing.T) {
	url := storetest.PostgresURL(t)
	replicas := []*store.Store{storetest.OpenURL(t, url, slog.New(slog.DiscardHandler)), storetest.OpenURL(t, url, slog.New(slog.DiscardHandler))}
	const rate, each = 500, 10
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := range 16 {
		wg.Go(func() {
			for range 10 {
				if err := replicas[g%2].TakeEvents(t.Context(), "acme", each, rate); err == nil {
					admitted.Add(each)
				} else if !errors.As(err, new(*store.QuotaError)) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	allowed := int64(store.EventBurst(rate)) + int64(time.Since(start).Seconds()*rate) + each
	if got := admitted.Load(); got > allowed || got < int64(store.EventBurst(rate)) {
		t.Fatalf("admitted %d events in %s; the quota allows %d (and at least the burst)", got, time.Since(start), allowed)
	}
}
