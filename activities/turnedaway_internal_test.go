package activities

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// expectWakes fails unless draining key's line at now wakes want, in order.
func expectWakes(t *testing.T, ta *turnedAway, key turnedAwayKey, now time.Time, want ...string) {
	t.Helper()
	if got := drain(t, ta, key, now); !slices.Equal(got, want) {
		t.Fatalf("woke %v, want %v", got, want)
	}
}

// drain wakes all key's line has to wake at now, one at a time: each
// woken delivery gets past before the next is woken.
func drain(t *testing.T, ta *turnedAway, key turnedAwayKey, now time.Time) []string {
	t.Helper()
	var got []string
	for range 2 * maxTurnedAway {
		id, ok := ta.next(key, now)
		if !ok {
			return got
		}
		got = append(got, id)
		ta.forget(key, id)
	}
	t.Fatalf("the line never ran dry: %d woken", len(got))
	return nil
}

// TestTurnedAwayWakesInOrderOnce: a line gives its deliveries in the
// order they were first turned away, each once however often, skips
// those that got past since (forget) and those not turned away for so
// long that they have asked again anyway, and keeps lines apart.
func TestTurnedAwayWakesInOrderOnce(t *testing.T) {
	var ta turnedAway
	now := time.Now()
	gate, share := gateKey("w1"), shareKey("w1")
	ta.add(gate, "stale", now.Add(-staleAfter-time.Second))
	ta.add(gate, "a", now)
	ta.add(gate, "b", now)
	ta.add(gate, "a", now) // again: keeps its place
	ta.add(gate, "c", now)
	ta.forget(gate, "b")
	ta.add(share, "s", now)
	expectWakes(t, &ta, gate, now, "a", "c")
	expectWakes(t, &ta, share, now, "s")
	ta.add(gate, "x", now) // woken, then never heard of again
	if id, _ := ta.next(gate, now); id != "x" {
		t.Fatalf("woke %q, want x", id)
	}
	if _, ok := ta.next(gate, now.Add(staleAfter+time.Second)); ok || ta.lines[gate] != nil {
		t.Fatal("a line of woken entries outlived them")
	}

	// Got past, then turned away again: it goes to the back.
	ta = turnedAway{}
	ta.add(gate, "a", now)
	ta.add(gate, "b", now)
	ta.forget(gate, "a")
	ta.add(gate, "a", now)
	expectWakes(t, &ta, gate, now, "b", "a")

	// Woken, then turned away again (the gate filled before it came):
	// it keeps its place at the front.
	ta = turnedAway{}
	ta.add(gate, "a", now)
	ta.add(gate, "b", now)
	if id, _ := ta.next(gate, now); id != "a" {
		t.Fatalf("woke %q first", id)
	}
	ta.add(gate, "a", now)
	expectWakes(t, &ta, gate, now, "a", "b")
}

// TestTurnedAwayKeepsTheLongestWaiterFresh: a delivery turned away again
// and again for longer than staleAfter keeps its place and is still
// woken: it is fresh from its last refusal, not its first.
func TestTurnedAwayKeepsTheLongestWaiterFresh(t *testing.T) {
	var ta turnedAway
	start, key := time.Now(), gateKey("w1")
	ta.add(key, "old", start)
	ta.add(key, "young", start.Add(time.Second))
	ta.add(key, "old", start.Add(staleAfter))
	ta.add(key, "young", start.Add(staleAfter+time.Second))
	ta.add(key, "old", start.Add(2*staleAfter))
	expectWakes(t, &ta, key, start.Add(2*staleAfter), "old", "young")
	// Not turned away for longer than staleAfter, it comes back at the
	// back: it has asked again in between.
	ta = turnedAway{}
	ta.add(key, "gone a while", start)
	ta.add(key, "young", start.Add(refusedPoll))
	ta.add(key, "gone a while", start.Add(staleAfter+time.Second))
	expectWakes(t, &ta, key, start.Add(staleAfter+time.Second), "young", "gone a while")
	// An old entry dropped from the front, stale, does not take its
	// delivery's newer one with it: turned away again after its wake-up,
	// the newer one keeps its place.
	ta = turnedAway{}
	ta.add(key, "a", start)
	ta.add(key, "b", start)
	ta.forget(key, "a")
	later := start.Add(staleAfter)
	ta.add(key, "a", later)
	ta.add(key, "c", later)
	now := later.Add(time.Second)
	if id, ok := ta.next(key, now); !ok || id != "a" {
		t.Fatalf("woke %q %v, want a", id, ok)
	}
	ta.add(key, "a", now)
	expectWakes(t, &ta, key, now, "a", "c")
}

// TestTurnedAwayLinesStayBounded: a full line makes room by dropping the
// entries that no longer count before it refuses one more; a line nobody
// empties (its webhook went quiet) is swept away.
func TestTurnedAwayLinesStayBounded(t *testing.T) {
	var ta turnedAway
	now, key := time.Now(), gateKey("w1")
	for i := range maxTurnedAway + 5 {
		ta.add(key, strconv.Itoa(i), now)
	}
	if n := len(ta.lines[key].order); n != maxTurnedAway {
		t.Fatalf("a line holds %d, want at most %d", n, maxTurnedAway)
	}
	for i := range 10 {
		ta.forget(key, strconv.Itoa(i))
	}
	ta.add(key, "too soon", now) // a full line that found no room waits a second
	if ta.lines[key].in["too soon"] != nil {
		t.Fatal("a full line looked for room again at once")
	}
	ta.add(key, "late", now.Add(time.Second))
	if e := ta.lines[key].in["late"]; e == nil || len(ta.lines[key].order) != maxTurnedAway-9 {
		t.Fatalf("a full line with 10 gone did not make room: %d entries", len(ta.lines[key].order))
	}
	later := now.Add(staleAfter + 2*time.Second)
	for i := range sweepEvery {
		ta.add(shareKey("t1"), strconv.Itoa(i), later)
	}
	if _, ok := ta.lines[key]; ok {
		t.Fatal("a stale line outlived the sweep")
	}
	if _, ok := ta.lines[shareKey("t1")]; !ok {
		t.Fatal("the sweep dropped a fresh line")
	}
}

// TestGateExitTellsWhetherThereIsRoom: a request leaving the gate reports
// room only when one more would be let in, so that it wakes nobody to be
// turned away again.
func TestGateExitTellsWhetherThereIsRoom(t *testing.T) {
	var g webhookGates
	exit, ok := g.enter(t.Context(), "w1", 1)
	if !ok {
		t.Fatal("an empty gate refused")
	}
	g.mu.Lock()
	g.gates["w1"].users += 2 // two more wait for it
	g.mu.Unlock()
	if exit() {
		t.Fatal("room reported with two waiting behind a queue of one")
	}
	g.mu.Lock()
	g.gates["w1"].users-- // one of them gave up
	g.mu.Unlock()
	exit, ok = g.enter(t.Context(), "w1", 1)
	if !ok {
		t.Fatal("refused behind one")
	}
	g.mu.Lock()
	g.gates["w1"].users-- // the other
	g.mu.Unlock()
	if !exit() {
		t.Fatal("no room reported at an empty gate")
	}
}

// TestTurnedAwayWakesOneAtATime: the next delivery of a line is woken only
// once the last one woken has asked again (got past, or was turned away
// again and is then the first to wake), or after wakeInFlight, its
// wake-up taken as lost.
func TestTurnedAwayWakesOneAtATime(t *testing.T) {
	var ta turnedAway
	now, key := time.Now(), gateKey("w1")
	ta.add(key, "a", now)
	ta.add(key, "b", now)
	if id, _ := ta.next(key, now); id != "a" {
		t.Fatalf("woke %q first", id)
	}
	if id, ok := ta.next(key, now); ok {
		t.Fatalf("woke %q while a had not asked", id)
	}
	ta.add(key, "a", now) // turned away again: first in line still
	if id, _ := ta.next(key, now); id != "a" {
		t.Fatalf("woke %q, want a again", id)
	}
	if id, ok := ta.next(key, now.Add(wakeInFlight-time.Millisecond)); ok {
		t.Fatalf("woke %q while a's wake-up was still under way", id)
	}
	if id, _ := ta.next(key, now.Add(wakeInFlight)); id != "b" {
		t.Fatalf("woke %q after a's wake-up was taken as lost, want b", id)
	}
	ta.forget(key, "b")                     // b got past
	ta.add(key, "a", now.Add(wakeInFlight)) // a was turned away again
	if id, _ := ta.next(key, now.Add(wakeInFlight)); id != "a" {
		t.Fatalf("woke %q, want a", id)
	}
}
