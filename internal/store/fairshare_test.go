package store

import (
	"slices"
	"testing"
)

func TestFairSharesInterleavesTenantsThenWebhooks(t *testing.T) {
	queues := []outboxQueue{{"a", "a1", 0}, {"a", "a2", 0}, {"b", "b1", 0}}
	got, _ := fairShares(queues, nil, 100, 100, 6)
	// Tenants alternate; tenant a's places alternate between its webhooks.
	want := []string{"a1", "b1", "a2", "b1", "a1", "b1"}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestFairSharesLeavesRoomForOthers(t *testing.T) {
	// Tenant a holds 40 of a window of 100 and has more waiting; b holds
	// nothing. Two active tenants: each may hold 100/3 = 33, so a gets
	// nothing more and b gets its share, not the whole room.
	open := []openStarts{{"a", "a1", 40, 0, 0}}
	queues := []outboxQueue{{"a", "a1", 0}, {"b", "b1", 0}}
	got, _ := fairShares(queues, open, 100, 100, 60)
	if len(got) != 33 || slices.Contains(got, "a1") {
		t.Fatalf("order = %v (%d places), want 33 places, all b1", got, len(got))
	}
	// Alone, a tenant's one webhook may hold half the window: the other
	// half is kept for whoever comes next.
	got, _ = fairShares([]outboxQueue{{"a", "a1", 0}}, nil, 100, 100, 100)
	if len(got) != 50 {
		t.Fatalf("a lone webhook got %d places, want 50", len(got))
	}
	// A tiny window still gives everyone a place.
	got, _ = fairShares([]outboxQueue{{"a", "a1", 0}, {"b", "b1", 0}, {"c", "c1", 0}}, nil, 2, 2, 2)
	if !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("window 2: %v", got)
	}
}

func TestFairSharesGivesFirstToTheTenantHoldingFewest(t *testing.T) {
	open := []openStarts{{"a", "a1", 5, 0, 0}, {"b", "b1", 2, 0, 0}}
	queues := []outboxQueue{{"a", "a1", 0}, {"b", "b1", 0}, {"c", "c1", 0}}
	got, _ := fairShares(queues, open, 100, 100, 5)
	want := []string{"c1", "c1", "b1", "c1", "b1"}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestFairSharesStartsNoMoreThanAWebhookCanSend(t *testing.T) {
	// A webhook limited to 10 requests in flight, whose deliveries wait
	// for its slots, holds at most 20 places, whatever the window's share
	// would allow: more would only wait (and poll) in Temporal.
	got, _ := fairShares([]outboxQueue{{"a", "a1", 10}}, []openStarts{{"a", "a1", 1, 1, 1}}, 100, 100, 100)
	if len(got) != 19 {
		t.Fatalf("a webhook of maxConcurrency 10 holding 1 got %d places, want 19", len(got))
	}
	// One that sends as they come keeps its share.
	if got, _ := fairShares([]outboxQueue{{"a", "a1", 10}}, []openStarts{{"a", "a1", 1, 0, 0}}, 100, 100, 100); len(got) != 49 {
		t.Fatalf("a webhook without waiters got %d places, want 49", len(got))
	}
	got, _ = fairShares([]outboxQueue{{"a", "a1", 10}, {"b", "b1", 1}}, []openStarts{{"a", "a1", 15, 3, 3}, {"b", "b1", 0, 0, 0}}, 100, 100, 100)
	if n := len(got) - len(slices.DeleteFunc(slices.Clone(got), func(h string) bool { return h == "a1" })); n != 5 {
		t.Fatalf("a1, holding 15, got %d more places, want 5", n)
	}
	if n := len(slices.DeleteFunc(got, func(h string) bool { return h != "b1" })); n != 33 {
		t.Fatalf("b1 (no waiters) got %d places, want its share, 33", n)
	}
	// A share of the window smaller than that still bounds it.
	got, _ = fairShares([]outboxQueue{{"a", "a1", 1000}}, []openStarts{{"a", "a1", 0, 0, 0}}, 100, 100, 100)
	if len(got) != 50 {
		t.Fatalf("a webhook of maxConcurrency 1000 got %d places, want its share, 50", len(got))
	}
}

func TestFairSharesLeavesWaitersOutOfShares(t *testing.T) {
	// A lone webhook's 4 started deliveries all wait for its rate limit:
	// they are not work queued in Temporal, so its share of a window of 8
	// (4) is still its to start with.
	got, _ := fairShares([]outboxQueue{{"a", "a1", 10}}, []openStarts{{"a", "a1", 4, 0, 4}}, 8, 8, 8)
	if len(got) != 4 {
		t.Fatalf("a webhook holding 4 rate waiters got %d places, want its share, 4", len(got))
	}
	// Waiters outnumbering the window leave another tenant its share of
	// 8 ÷ 3; a1, past its bound (2 + 2 waiters), gets none.
	got, _ = fairShares([]outboxQueue{{"a", "a1", 10}, {"b", "b1", 10}}, []openStarts{{"a", "a1", 12, 0, 12}}, 8, 8, 8)
	if !slices.Equal(got, []string{"b1", "b1"}) {
		t.Fatalf("order = %v, want b1 twice", got)
	}
	// Under its bound, a1's waiters count against neither share: with 2
	// of them, a1 and b1 get 2 each.
	got, _ = fairShares([]outboxQueue{{"a", "a1", 10}, {"b", "b1", 10}}, []openStarts{{"a", "a1", 2, 0, 2}}, 8, 8, 8)
	if !slices.Equal(got, []string{"a1", "b1", "a1", "b1"}) {
		t.Fatalf("order = %v, want a1 and b1 twice each", got)
	}
	// A tenant's waiting webhook leaves its share to its other webhooks.
	got, _ = fairShares([]outboxQueue{{"a", "a2", 10}, {"b", "b1", 10}}, []openStarts{{"a", "a1", 30, 0, 30}}, 100, 100, 100)
	if n := len(slices.DeleteFunc(slices.Clone(got), func(h string) bool { return h != "a2" })); n != 25 {
		t.Fatalf("a2 got %d places, want its share, 25 (a1's waiters holding none of acme's)", n)
	}
}

func TestFairSharesBoundsAWebhooksWaiters(t *testing.T) {
	// Every start of a webhook slowed by its rate soon waits; it holds at
	// most waitingPerSlot per slot (or its share, if less) more than its
	// share in all: with maxConcurrency 2 and a share of 50, 54.
	for _, c := range []struct{ waiting, want int }{{0, 50}, {3, 50}, {50, 4}, {54, 0}, {60, 0}} {
		got, _ := fairShares([]outboxQueue{{"a", "a1", 2}}, []openStarts{{"a", "a1", c.waiting, 0, c.waiting}}, 100, 100, 100)
		if len(got) != c.want {
			t.Errorf("holding %d waiters: %d places, want %d", c.waiting, len(got), c.want)
		}
	}
	// And no more waiters than its share, so that waiters in all stay
	// within about a window: maxConcurrency 10 (20 per slot) and a share
	// of 6 (a lone webhook, window 12), 12 in all.
	for _, c := range []struct{ waiting, want int }{{0, 6}, {6, 6}, {9, 3}, {12, 0}} {
		got, _ := fairShares([]outboxQueue{{"a", "a1", 10}}, []openStarts{{"a", "a1", c.waiting, 0, c.waiting}}, 12, 12, 12)
		if len(got) != c.want {
			t.Errorf("share 6, holding %d waiters: %d places, want %d", c.waiting, len(got), c.want)
		}
	}
	// Once some wait for its slots, the stricter bound holds: 2 per slot
	// in all, its rate waiters included.
	if got, _ := fairShares([]outboxQueue{{"a", "a1", 2}}, []openStarts{{"a", "a1", 3, 1, 3}}, 100, 100, 100); len(got) != 1 {
		t.Fatalf("a webhook of maxConcurrency 2 holding 3 waiters, one for a slot, got %d places, want 1", len(got))
	}
}

// TestFairSharesHeld: the shares of ready places stopping the hand-out is
// reported (the starter grows its window then); a webhook at its bound in
// all (its waiters) is not.
func TestFairSharesHeld(t *testing.T) {
	order, held := fairShares([]outboxQueue{{"a", "a1", 10}}, nil, 100, 16, 100)
	if len(order) != 8 || !held {
		t.Fatalf("a lone webhook at half of 16: %d places, held=%v; want 8, held", len(order), held)
	}
	order, held = fairShares([]outboxQueue{{"a", "a1", 10}}, nil, 100, 16, 5)
	if len(order) != 5 || held {
		t.Fatalf("room for 5: %d places, held=%v; want 5, not held by a share", len(order), held)
	}
	// At its share of ready places and at its bound in all (its waiters):
	// the bound, not the window, holds it back.
	order, held = fairShares([]outboxQueue{{"a", "a1", 0}}, []openStarts{{"a", "a1", 16, 0, 8}}, 16, 16, 100)
	if len(order) != 0 || held {
		t.Fatalf("at its share and its bound: %d places, held=%v; want none, not held", len(order), held)
	}
	// A tenant at its share (16 ÷ 3 = 5 ready) with a second webhook
	// under its own: held by the tenant's share.
	order, held = fairShares([]outboxQueue{{"a", "a2", 0}},
		[]openStarts{{"a", "a1", 5, 0, 0}, {"b", "b1", 5, 0, 0}}, 16, 16, 100)
	if len(order) != 0 || !held {
		t.Fatalf("tenants at their shares: %v, held=%v; want none, held", order, held)
	}
	// Its starts wait for its one slot: at 2 per slot it holds its bound.
	order, held = fairShares([]outboxQueue{{"a", "a1", 1}}, []openStarts{{"a", "a1", 2, 2, 2}}, 100, 16, 100)
	if len(order) != 0 || held {
		t.Fatalf("at its bound in all: %d places, held=%v; want none, not held", len(order), held)
	}
}
