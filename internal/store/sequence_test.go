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

// One request at a time per sequence: an event whose timestamp is earlier
// than one in flight heads its sequence, but waits for the one in flight.
func TestClaimWaitsForTheSequenceInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := orderedWebhook(t, s, "late", "block")
		k, other := "k", "other"
		t0 := store.Now().Add(-time.Minute)
		d2 := sequenced(t, s, w, "e2", &k, t0.Add(2*time.Second), t0)
		if got := claim(t, s); !slices.Equal(got, []string{d2}) {
			t.Fatalf("claim %v, want d2", got)
		}
		d1 := sequenced(t, s, w, "e1", &k, t0.Add(time.Second), t0.Add(time.Second)) // late: happened before d2
		o1 := sequenced(t, s, w, "o1", &other, t0, t0.Add(2*time.Second))
		if got := claim(t, s); !slices.Equal(got, []string{o1}) {
			t.Fatalf("claimed %v while d2 of its sequence is in flight, want only o1", got)
		}
		if got, err := s.WaitingFor(context.Background(), mustDelivery(t, s, d1)); err != nil || got != d2 {
			t.Fatalf("d1 waits for %q (%v), want d2 in flight", got, err)
		}
		settle(t, s, w, d2, models.DeliverySucceeded)
		if got := claim(t, s); !slices.Equal(got, []string{d1}) {
			t.Fatalf("after d2 succeeded: %v, want d1", got)
		}
	})
}

// A replayed delivery of a sequence goes back to its place in the outbox,
// skipped no more: the DLQ's replay of a skipped delivery and a later failed
// one sends them one at a time, in order.
func TestReplayPutsASequencedDeliveryBackInItsPlace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := orderedWebhook(t, s, "replayed", "skip")
		k := "k"
		t0 := store.Now().Add(-time.Minute)
		d1 := sequenced(t, s, w, "e1", &k, t0, t0)
		d2 := sequenced(t, s, w, "e2", &k, t0.Add(time.Second), t0.Add(time.Second))
		d3 := sequenced(t, s, w, "e3", &k, t0.Add(2*time.Second), t0.Add(2*time.Second))
		claim(t, s)
		settle(t, s, w, d1, models.DeliveryFailed) // skipped
		claim(t, s)
		settle(t, s, w, d2, models.DeliveryFailed) // skipped
		if got := claim(t, s); !slices.Equal(got, []string{d3}) {
			t.Fatalf("claim %v, want d3", got)
		}
		for _, id := range []string{d1, d2} {
			d, err := s.ResetForReplay(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.DispatchedAt != nil || d.SequenceSkipped {
				t.Fatalf("replayed %s: dispatched %v skipped %v, want back in the outbox, unskipped", id, d.DispatchedAt, d.SequenceSkipped)
			}
		}
		if got := claim(t, s); len(got) != 0 {
			t.Fatalf("claimed %v while d3 is in flight", got)
		}
		settle(t, s, w, d3, models.DeliverySucceeded)
		if got := claim(t, s); !slices.Equal(got, []string{d1}) {
			t.Fatalf("after d3: %v, want d1 alone", got)
		}
		settle(t, s, w, d1, models.DeliverySucceeded)
		if got := claim(t, s); !slices.Equal(got, []string{d2}) {
			t.Fatalf("after d1: %v, want d2", got)
		}
	})
}

// TestBlockedSequenceTakesNoOtherTenantsPlaces: an ordered webhook whose
// only waiting deliveries queue behind a failed head ("block") has nothing
// to claim; the places it is given go to the others, even when the claim
// has a single place (one free start slot) and its tenant would win it.
func TestBlockedSequenceTakesNoOtherTenantsPlaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("ordered")
		w.TenantID = "aaa" // wins ties: tenants are served in id order
		w.OrderingKey, w.OrderingOnExhausted = "data.orderId", "block"
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		key := "order-1"
		at := store.Now().Add(-time.Hour)
		var ids []string
		for i, id := range []string{"evt-head", "evt-next"} {
			ts := at.Add(time.Duration(i) * time.Second)
			ev := newEvent(id, ts)
			ev.TenantID = w.TenantID
			d := newDelivery(ev, w.ID, models.DeliveryPending, ts)
			d.TenantID, d.SequenceKey, d.SequenceAt = w.TenantID, &key, &ts
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		head := ids[0]
		if got := claim(t, s); !slices.Equal(got, []string{head}) {
			t.Fatalf("claimed %v, want the head %s", got, head)
		}
		settle(t, s, w, head, models.DeliveryFailed) // the sequence is blocked

		other := tenantWebhook(t, s, "zzz", "other")
		outboxOf(t, s, []*models.Webhook{other}, 2)
		ds, full, err := s.ClaimForStart(ctx, 1, 100, store.Now())
		if err != nil || full || len(ds) != 1 || ds[0].WebhookID != other.ID {
			t.Fatalf("claim of one place: %d claimed, full=%v, %v; want the other tenant's delivery", len(ds), full, err)
		}
	})
}
