package store

import (
	"slices"
	"testing"
)

func TestFairSharesInterleavesTenantsThenWebhooks(t *testing.T) {
	queues := []outboxQueue{{"a", "a1"}, {"a", "a2"}, {"b", "b1"}}
	got := fairShares(queues, nil, 100, 6)
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
	open := []openStarts{{"a", "a1", 40}}
	queues := []outboxQueue{{"a", "a1"}, {"b", "b1"}}
	got := fairShares(queues, open, 100, 60)
	if len(got) != 33 || slices.Contains(got, "a1") {
		t.Fatalf("order = %v (%d places), want 33 places, all b1", got, len(got))
	}
	// Alone, a tenant's one webhook may hold half the window: the other
	// half is kept for whoever comes next.
	got = fairShares([]outboxQueue{{"a", "a1"}}, nil, 100, 100)
	if len(got) != 50 {
		t.Fatalf("a lone webhook got %d places, want 50", len(got))
	}
	// A tiny window still gives everyone a place.
	got = fairShares([]outboxQueue{{"a", "a1"}, {"b", "b1"}, {"c", "c1"}}, nil, 2, 2)
	if !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("window 2: %v", got)
	}
}

func TestFairSharesGivesFirstToTheTenantHoldingFewest(t *testing.T) {
	open := []openStarts{{"a", "a1", 5}, {"b", "b1", 2}}
	queues := []outboxQueue{{"a", "a1"}, {"b", "b1"}, {"c", "c1"}}
	got := fairShares(queues, open, 100, 5)
	want := []string{"c1", "c1", "b1", "c1", "b1"}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}
