package activities

import (
	"sync"
	"time"
)

// turnedAway remembers, per webhook gate and per tenant share, the
// deliveries this worker refused before they asked the limiter (Sender's
// refused), so that the gate or share that turned one away wakes it once
// it has room again: a request leaves the gate, a tenant's request ends.
// Such a delivery has no place in the webhook's line yet (the limiter
// never saw it), so no request ending elsewhere wakes it, and its polls
// double up to 4–6 s (workflows.slotPoll): under a burst, first attempts
// refused a few times in a row waited longest of all. Woken, it asks
// again, and if the webhook is still busy the limiter gives it its place
// in line, where freed slots wake it in order. The polls stay, for a
// wake-up that is lost or dropped. The zero value is ready.
type turnedAway struct {
	mu    sync.Mutex
	lines map[turnedAwayKey]*awayLine
}

// turnedAwayKey names what refused: a webhook's gate or a tenant's share.
type turnedAwayKey struct {
	gate bool
	id   string
}

func gateKey(webhookID string) turnedAwayKey { return turnedAwayKey{gate: true, id: webhookID} }
func shareKey(tenantID string) turnedAwayKey { return turnedAwayKey{id: tenantID} }

// awayLine is one key's refused deliveries, oldest first. An entry counts
// only while in holds its delivery at its time: forget and a new refusal
// leave the old entry behind, to be skipped.
type awayLine struct {
	order []turnedAwayEntry
	in    map[string]time.Time
}

type turnedAwayEntry struct {
	deliveryID string
	at         time.Time
}

// A line holds at most maxTurnedAway deliveries (the ones refused after
// that poll only), and an entry older than the longest poll after a
// refusal (refusedPoll) is not woken: its delivery has asked again since.
const maxTurnedAway = 1024

// add remembers that key turned deliveryID away now; a delivery already
// in the line keeps its place.
func (t *turnedAway) add(key turnedAwayKey, deliveryID string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lines == nil {
		t.lines = map[turnedAwayKey]*awayLine{}
	}
	l := t.lines[key]
	if l == nil {
		l = &awayLine{in: map[string]time.Time{}}
		t.lines[key] = l
	}
	if _, ok := l.in[deliveryID]; ok || len(l.order) >= maxTurnedAway {
		return
	}
	l.in[deliveryID] = now
	l.order = append(l.order, turnedAwayEntry{deliveryID, now})
}

// forget drops deliveryID from key's line: it got past key and asks.
func (t *turnedAway) forget(key turnedAwayKey, deliveryID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.lines[key]; l != nil {
		delete(l.in, deliveryID)
	}
}

// next takes the oldest delivery key turned away that may still be
// waiting for it, or reports false.
func (t *turnedAway) next(key turnedAwayKey, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.lines[key]
	if l == nil {
		return "", false
	}
	defer func() {
		if len(l.order) == 0 {
			delete(t.lines, key)
		}
	}()
	for len(l.order) > 0 {
		e := l.order[0]
		l.order[0] = turnedAwayEntry{}
		l.order = l.order[1:]
		if at, ok := l.in[e.deliveryID]; !ok || !at.Equal(e.at) {
			continue // forgotten, or refused again and further back
		}
		delete(l.in, e.deliveryID)
		if now.Sub(e.at) <= refusedPoll {
			return e.deliveryID, true
		}
	}
	return "", false
}
