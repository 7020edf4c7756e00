package activities

import (
	"testing"
	"time"
)

// TestTurnedAwayWakesOldestFirstOnce: a line gives its deliveries oldest
// first, each once however often it was turned away, skips those that
// got through since (forget) and those refused so long ago that they have
// asked again anyway, and keeps lines apart.
func TestTurnedAwayWakesOldestFirstOnce(t *testing.T) {
	var ta turnedAway
	now := time.Now()
	gate, share := gateKey("w1"), shareKey("w1")
	ta.add(gate, "stale", now.Add(-refusedPoll-time.Second))
	ta.add(gate, "a", now)
	ta.add(gate, "b", now)
	ta.add(gate, "a", now) // again: keeps its place
	ta.add(gate, "c", now)
	ta.forget(gate, "b")
	ta.add(share, "s", now)
	var got []string
	for {
		id, ok := ta.next(gate, now)
		if !ok {
			break
		}
		got = append(got, id)
	}
	if want := []string{"a", "c"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("woke %v, want %v", got, want)
	}
	if id, ok := ta.next(share, now); !ok || id != "s" {
		t.Fatalf("the share's line gave %q %v", id, ok)
	}
	if len(ta.lines) != 0 {
		t.Fatalf("empty lines kept: %v", ta.lines)
	}
	// Forgotten, then turned away again: it goes to the back.
	ta.add(gate, "a", now)
	ta.add(gate, "b", now)
	ta.forget(gate, "a")
	ta.add(gate, "a", now.Add(time.Millisecond))
	for _, want := range []string{"b", "a"} {
		if id, _ := ta.next(gate, now); id != want {
			t.Fatalf("woke %q, want %q", id, want)
		}
	}
	for i := range maxTurnedAway + 5 {
		ta.add(gate, string(rune('A'+i%26))+time.Duration(i).String(), now)
	}
	if n := len(ta.lines[gate].order); n != maxTurnedAway {
		t.Fatalf("a line holds %d, want at most %d", n, maxTurnedAway)
	}
}
