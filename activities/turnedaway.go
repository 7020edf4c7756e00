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
// fullAt is when a full line last found no entry to drop.
type awayLine struct {
	order  []*awayEntry
	in     map[string]*awayEntry
	fullAt time.Time
	// woke is the entry woken last, at wokeAt: no other is woken until
	// it has asked here (got past, or was turned away again, at this
	// line or the other) or wakeInFlight has passed (its wake-up lost or
	// slow, or it asked on another worker).
	woke   *awayEntry
	wokeAt time.Time
}

// awayEntry is a delivery in line: last is when it was last turned away;
// woken since (it keeps its place: turned away again, it is the next to
// wake); gone once it got past, or went stale.
type awayEntry struct {
	deliveryID string
	last       time.Time
	woken      bool
	gone       bool
}

// A line holds at most maxTurnedAway entries (past that, deliveries turned
// away only poll; a full line that found nothing to drop looks again only
// a second later). An entry whose delivery was last turned away longer
// ago than the longest poll after a refusal (refusedPoll) and a margin for
// the workflow task and the send's loading is stale, not woken: its
// delivery has asked again since, and if it was turned away then, it has
// a fresher time. Every sweepEvery entries added, lines left with nothing fresh are
// dropped: their webhook or tenant went quiet, and next would never be
// called to empty them.
//
// A line wakes one delivery at a time: every ask that finds the webhook
// busy costs a signal, a workflow task and a database transaction, and
// under a burst, waking one per request leaving the gate has the
// turned-away ask as fast as the gate turns, on a CPU that other tenants'
// deliveries need (docs/performance.md, the ProductionNeighbours rows of
// the turned-away wake-up). A head that is turned away again and again
// keeps its place and is woken again; those behind it poll meanwhile, as
// without the wake-up. wakeInFlight is about a busy worker's time from a
// signal to the ask it causes.
const (
	maxTurnedAway = 1024
	sweepEvery    = 1024
	staleAfter    = refusedPoll + 2*time.Second
	wakeInFlight  = time.Second
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
	if e := l.in[deliveryID]; e != nil && !l.drop(e, now) {
		e.last, e.woken = now, false // it keeps its place
		return
	}
	if len(l.order) >= maxTurnedAway {
		if now.Sub(l.fullAt) < time.Second {
			return
		}
		if l.compact(now); len(l.order) >= maxTurnedAway {
			l.fullAt = now
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

// next marks woken, and returns, the delivery key turned away first that
// may still be waiting for it and was not woken since, or reports false
// (also while the one woken last has not asked yet: that room goes
// unused, for the polls). Entries that no longer count are dropped from
// the front on the way.
func (t *turnedAway) next(key turnedAwayKey, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.lines[key]
	if l == nil {
		return "", false
	}
	for len(l.order) > 0 && l.drop(l.order[0], now) {
		l.order[0] = nil
		l.order = l.order[1:]
	}
	if len(l.order) == 0 {
		delete(t.lines, key)
		return "", false
	}
	if e := l.woke; e != nil && e.woken && !e.gone && now.Sub(l.wokeAt) < wakeInFlight {
		return "", false // the last one woken has not asked yet
	}
	for _, e := range l.order {
		if !e.woken && !l.drop(e, now) {
			e.woken = true
			l.woke, l.wokeAt = e, now
			return e.deliveryID, true
		}
	}
	return "", false
}

// drop reports whether e no longer counts (gone or stale), and takes a
// stale one out of in.
func (l *awayLine) drop(e *awayEntry, now time.Time) bool {
	if !e.gone && now.Sub(e.last) > staleAfter {
		e.gone = true
		delete(l.in, e.deliveryID)
	}
	return e.gone
}

// compact drops the entries that no longer count.
func (l *awayLine) compact(now time.Time) {
	kept := l.order[:0]
	for _, e := range l.order {
		if !l.drop(e, now) {
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
