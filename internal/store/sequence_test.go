package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// sequenced stores an event (timestamp ts) and its delivery to w in the
// sequence key (nil: unordered), arriving at arrived; it returns the
// delivery id.
func sequenced(t *testing.T, s *store.Store, w *models.Webhook, id string, key *string, ts, arrived time.Time) string {
	t.Helper()
	ev := newEvent(id, arrived)
	ev.Timestamp = ts
	d := newDelivery(ev, w.ID, models.DeliveryPending, arrived)
	if key != nil {
		d.SequenceKey, d.SequenceAt = key, &ts
	}
	if _, _, _, err := s.IngestEvent(context.Background(), ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// claim returns the ids the starter would start now, sorted.
func claim(t *testing.T, s *store.Store) []string {
	t.Helper()
	ds, _, err := s.ClaimForStart(context.Background(), 100, 100, store.Now())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}

func settle(t *testing.T, s *store.Store, w *models.Webhook, id string, status models.DeliveryStatus) {
	t.Helper()
	r := store.AttemptResult{DeliveryID: id, WebhookID: w.ID, DeliveryStatus: status}
	if err := s.RecordAttempt(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

func orderedWebhook(t *testing.T, s *store.Store, name, onExhausted string) *models.Webhook {
	t.Helper()
	w := newWebhook(name)
	w.OrderingKey, w.OrderingOnExhausted = "data.orderId", onExhausted
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestClaimTakesEachSequenceHeadInEventOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := orderedWebhook(t, s, "ordered", "block")
		a, b := "a", "b"
		t0 := store.Now().Add(-time.Minute)
		at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
		// a2 arrives before a1 but happened after it: event time decides.
		a2 := sequenced(t, s, w, "a2", &a, at(2), at(10))
		a1 := sequenced(t, s, w, "a1", &a, at(1), at(11))
		a3 := sequenced(t, s, w, "a3", &a, at(3), at(12))
		b1 := sequenced(t, s, w, "b1", &b, at(1), at(13))
		b2 := sequenced(t, s, w, "b2", &b, at(2), at(14))
		free := sequenced(t, s, w, "free", nil, at(1), at(15)) // stored before ordering was set

		if got, want := claim(t, s), sorted(a1, b1, free); !slices.Equal(got, want) {
			t.Fatalf("first claim %v, want the heads and the unordered one %v", got, want)
		}
		if got := claim(t, s); len(got) != 0 {
			t.Fatalf("claimed %v while every head is in flight", got)
		}
		if d := mustDelivery(t, s, a2); d.Status != models.DeliveryPending {
			t.Fatalf("a2 %s", d.Status)
		}
		if waits, err := s.WaitingFor(ctx, mustDelivery(t, s, a3)); err != nil || waits != a1 {
			t.Fatalf("a3 waits for %q (%v), want a1 %s", waits, err, a1)
		}
		// a1 succeeds: a2 is next. b1 waits for a retry: b holds.
		settle(t, s, w, a1, models.DeliverySucceeded)
		settle(t, s, w, b1, models.DeliveryAwaitingRetry)
		if got := claim(t, s); !slices.Equal(got, []string{a2}) {
			t.Fatalf("after a1 succeeded: %v, want a2", got)
		}
		// a2 runs out of retries under block: a3 waits until it is skipped.
		settle(t, s, w, a2, models.DeliveryFailed)
		if got := claim(t, s); len(got) != 0 {
			t.Fatalf("claimed %v behind a blocked delivery", got)
		}
		if waits, _ := s.WaitingFor(ctx, mustDelivery(t, s, a3)); waits != a2 {
			t.Fatalf("a3 waits for %q, want a2", waits)
		}
		if _, err := s.SkipInSequence(ctx, b2); !errors.Is(err, store.ErrNotSkippable) {
			t.Fatalf("skip a pending delivery: %v", err)
		}
		if d, err := s.SkipInSequence(ctx, a2); err != nil || !d.SequenceSkipped || d.Status != models.DeliveryFailed {
			t.Fatalf("skip a2: %+v %v", d, err)
		}
		if got := claim(t, s); !slices.Equal(got, []string{a3}) {
			t.Fatalf("after a2 was skipped: %v, want a3", got)
		}
		// b1 succeeds at its retry: b2 goes.
		settle(t, s, w, b1, models.DeliverySucceeded)
		if got := claim(t, s); !slices.Equal(got, []string{b2}) {
			t.Fatalf("after b1 succeeded: %v, want b2", got)
		}
	})
}

func TestSkipModeMovesOnAndHeldDeliveriesKeepTheirPlace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := orderedWebhook(t, s, "skipping", "skip")
		k := "k"
		t0 := store.Now().Add(-time.Minute)
		d1 := sequenced(t, s, w, "e1", &k, t0, t0)
		d2 := sequenced(t, s, w, "e2", &k, t0.Add(time.Second), t0.Add(time.Second))
		if got := claim(t, s); !slices.Equal(got, []string{d1}) {
			t.Fatalf("claim %v, want d1", got)
		}
		// Held while paused (a manual pause, or the breaker): still first.
		if _, _, err := s.SetPaused(context.Background(), w.ID, true, "test"); err != nil {
			t.Fatal(err)
		}
		settle(t, s, w, d1, models.DeliveryHeld)
		if got := claim(t, s); len(got) != 0 {
			t.Fatalf("claimed %v behind a held delivery", got)
		}
		if _, released, err := s.SetPaused(context.Background(), w.ID, false, "test"); err != nil || released != 1 {
			t.Fatalf("resume: %d %v", released, err)
		}
		if got := claim(t, s); !slices.Equal(got, []string{d1}) {
			t.Fatalf("after resume: %v, want d1 again", got)
		}
		settle(t, s, w, d1, models.DeliveryFailed) // exhausted under skip
		if d := mustDelivery(t, s, d1); !d.SequenceSkipped {
			t.Fatal("a failure under skip did not settle the delivery")
		}
		if got := claim(t, s); !slices.Equal(got, []string{d2}) {
			t.Fatalf("after d1 failed under skip: %v, want d2", got)
		}
	})
}
