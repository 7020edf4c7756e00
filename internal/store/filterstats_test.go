package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestFilterCounts: counts add up per filter over the buckets of a window;
// counts of a webhook deleted meanwhile are dropped, the rest kept;
// retention removes old buckets.
func TestFilterCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w, gone := newWebhook("counted"), newWebhook("gone")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateWebhook(ctx, gone); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		add := func(at time.Time, counts ...store.FilterCount) {
			t.Helper()
			if err := s.AddFilterCounts(ctx, at, counts); err != nil {
				t.Fatal(err)
			}
		}
		add(now.Add(-48*time.Hour), store.FilterCount{WebhookID: w.ID, FilterKey: "a", Seen: 100, Matched: 100})
		add(now.Add(-time.Hour), store.FilterCount{WebhookID: w.ID, FilterKey: "a", Seen: 5, Matched: 1},
			store.FilterCount{WebhookID: w.ID, FilterKey: "b", Seen: 7})
		add(now, store.FilterCount{WebhookID: w.ID, FilterKey: "a", Seen: 2, Matched: 2})
		add(now, store.FilterCount{WebhookID: w.ID, FilterKey: "a", Seen: 1}) // same bucket: adds
		if err := s.HardDeleteWebhook(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		add(now, store.FilterCount{WebhookID: gone.ID, FilterKey: "a", Seen: 9},
			store.FilterCount{WebhookID: w.ID, FilterKey: "b", Seen: 1, Matched: 1})
		got, err := s.FilterStatsSince(ctx, w.ID, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.FilterCount{
			{WebhookID: w.ID, FilterKey: "a", Seen: 8, Matched: 3},
			{WebhookID: w.ID, FilterKey: "b", Seen: 8, Matched: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("last day:\n got %+v\nwant %+v", got, want)
		}
		if n, err := s.PurgeStatsBefore(ctx, now.Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		all, _ := s.FilterStatsSince(ctx, w.ID, now.Add(-72*time.Hour))
		if !reflect.DeepEqual(all, want) {
			t.Fatalf("after the purge: %+v", all)
		}
	})
}
