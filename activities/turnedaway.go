package activities

import (
	"sync"
	"time"
)

// turnedAway remembers, per webhook gate and per tenant share, the
// deliveries this worker turned away before they asked the limiter
// (Sender's refused), so that the gate or share wakes one once it has
// room again: a request leaves the gate with a place free behind it, a
// tenant's request that was sent ends. Such a delivery has no place in the
// webhook's line yet (the limiter never saw it), so no request ending
// elsewhere wakes it, and its polls double up to 4–6 s
// (workflows.slotPoll). Woken, it asks again, and if the webhook is still
// busy the limiter gives it its place in line, where freed slots wake it
// in order. The polls stay, for a wake-up that is lost: a worker
// restarted, a wake-up dropped, or room that came between the refusal and
// its entry here. The zero value is ready.
type turnedAway struct {
	mu    sync.Mutex
	lines map[turnedAwayKey]*awayLine
	adds  int // since the last sweep
}

// turnedAwayKey names what turned a delivery away: a webhook's gate or a
// tenant's share.
type turnedAwayKey struct {
	gate bool
	id   string
}

func gateKey(webhookID string) turnedAwayKey { return turnedAwayKey{gate: true, id: webhookID} }
func shareKey(tenantID string) turnedAwayKey { return turnedAwayKey{id: tenantID} }

// awayLine is one key's turned-away deliveries, in the order they were
// first turned away; each delivery has at most one live entry (in).
type awayLine struct {
	order []*awayEntry
	in    map[string]*awayEntry
}

// awayEntry is a delivery in line: last is when it was last turned away;
// gone once it got past, or was woken.
type awayEntry struct {
	deliveryID string
	last       time.Time
	gone       bool
}

// A line holds at most maxTurnedAway entries (past that, deliveries turned
// away only poll). An entry whose delivery was last turned away longer ago
// than the longest poll after a refusal (refusedPoll) is not woken: its
// delivery has asked again since, and if it was turned away then, it has
// a fresher time. Every sweepEvery entries added, lines left with no
// entry fresh enough to wake are dropped: their webhook or tenant went
// quiet, and next would never be called to empty them.
const (
	maxTurnedAway = 1024
	sweepEvery    = 1024
)

// add records that key turned deliveryID away at now. A delivery still in
// the line keeps its place.
func (t *turnedAway) add(key turnedAwayKey, deliveryID string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.adds++; t.adds >= sweepEvery {
		t.sweep(now)
	}
	if t.lines == nil {
		t.lines = map[turnedAwayKey]*awayLine{}
	}
	l := t.lines[key]
	if l == nil {
		l = &awayLine{in: map[string]*awayEntry{}}
		t.lines[key] = l
	}
	if e := l.in[deliveryID]; e != nil {
		e.last = now
		return
	}
	if len(l.order) >= maxTurnedAway {
		l.compact(now)
		if len(l.order) >= maxTurnedAway {
			return
		}
	}
	e := &awayEntry{deliveryID: deliveryID, last: now}
	l.in[deliveryID] = e
	l.order = append(l.order, e)
}

// forget takes deliveryID out of key's line: it got past key.
func (t *turnedAway) forget(key turnedAwayKey, deliveryID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.lines[key]; l != nil {
		if e := l.in[deliveryID]; e != nil {
			e.gone = true
			delete(l.in, deliveryID)
		}
	}
}

// next takes the delivery key turned away first that may still be
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
		l.order[0] = nil
		l.order = l.order[1:]
		if e.gone {
			continue
		}
		e.gone = true
		delete(l.in, e.deliveryID)
		if fresh(e, now) {
			return e.deliveryID, true
		}
	}
	return "", false
}

func fresh(e *awayEntry, now time.Time) bool { return now.Sub(e.last) <= refusedPoll }

// compact drops the entries that no longer count: gone or stale.
func (l *awayLine) compact(now time.Time) {
	kept := l.order[:0]
	for _, e := range l.order {
		switch {
		case e.gone:
		case !fresh(e, now):
			delete(l.in, e.deliveryID)
		default:
			kept = append(kept, e)
		}
	}
	clear(l.order[len(kept):])
	l.order = kept
}

// sweep drops the lines with nothing left to wake.
func (t *turnedAway) sweep(now time.Time) {
	t.adds = 0
	for key, l := range t.lines {
		if l.compact(now); len(l.order) == 0 {
			delete(t.lines, key)
		}
	}
}
