package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func TestClaimForStartOldestFirstAndOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("outbox")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		base := store.Now().Add(-time.Minute)
		var ids []string
		for i := range 10 {
			at := base.Add(time.Duration(i) * time.Second)
			ev := newEvent("evt-"+string(rune('a'+i)), at)
			d := newDelivery(ev, w.ID, models.DeliveryPending, at)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		if n, _ := s.CountUndispatched(ctx); n != 10 {
			t.Fatalf("backlog = %d, want 10", n)
		}
		now := store.Now()
		first, _, err := s.ClaimForStart(ctx, 4, 1000, now)
		if err != nil || len(first) != 4 {
			t.Fatalf("claim: %d %v", len(first), err)
		}
		for i, d := range first {
			if d.ID != ids[i] || d.DispatchedAt == nil || !d.DispatchedAt.Equal(now) || d.CreatedAt.IsZero() || d.WebhookID != w.ID {
				t.Fatalf("claim %d = %+v, want %s dispatched at %v", i, d, ids[i], now)
			}
		}
		if n, _ := s.CountStarting(ctx); n != 4 {
			t.Fatalf("starting = %d, want 4", n)
		}
		// A failed start goes back, and is claimed first again.
		if err := s.ReleaseClaims(ctx, []string{ids[0]}); err != nil {
			t.Fatal(err)
		}
		next, _, err := s.ClaimForStart(ctx, 2, 1000, now)
		if err != nil || len(next) != 2 || next[0].ID != ids[0] || next[1].ID != ids[4] {
			t.Fatalf("claim after release: %v %v", next, err)
		}
		// The rest, claimed by concurrent claimers: each delivery exactly once.
		var (
			mu  sync.Mutex
			got = map[string]int{}
			wg  sync.WaitGroup
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ds, _, err := s.ClaimForStart(ctx, 1, 1000, now)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					got[ds[0].ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(got) != 5 {
			t.Fatalf("concurrent claimers took %d deliveries, want 5: %v", len(got), got)
		}
		for id, n := range got {
			if n != 1 {
				t.Fatalf("delivery %s claimed %d times", id, n)
			}
		}
		if n, _ := s.CountUndispatched(ctx); n != 0 {
			t.Fatalf("backlog = %d after claiming everything", n)
		}
	})
}

// TestClaimKeepsOneWindowForAllClaimers: however many processes claim at
// once, no more than window deliveries are started and not yet attempted,
// and no more than a webhook's share of it (half, alone).
func TestClaimKeepsOneWindowForAllClaimers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("window")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		for i := range 60 {
			ev := newEvent(fmt.Sprintf("evt-%02d", i), now)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{newDelivery(ev, w.ID, models.DeliveryPending, now)}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					if _, _, err := s.ClaimForStart(ctx, 100, 10, now); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if n, _ := s.CountStarting(ctx); n != 5 {
			t.Fatalf("%d started and not yet attempted, want 5 (a lone webhook's share of a window of 10)", n)
		}
		_, full, err := s.ClaimForStart(ctx, 100, 10, now)
		if err != nil || !full {
			t.Fatalf("a full window must say so: full=%v %v", full, err)
		}
	})
}
