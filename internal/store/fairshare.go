package store

import (
	"cmp"
	"slices"
)

// The start window shared fairly: who gets the room the window has left.
// Tenants first, then each tenant's webhooks, so that one tenant's backlog
// (or one slow webhook's) cannot take the room every other delivery waits
// for. See docs/architecture.md, "Scheduling model".

// outboxQueue is one webhook with deliveries waiting in the outbox.
type outboxQueue struct {
	TenantID  string
	WebhookID string
	// MaxConcurrency is the webhook's limit of requests in flight: while
	// its deliveries wait for a slot, it holds at most waitingPerSlot
	// times as many places; while they wait for another limit, that many
	// more than its share (0: its share more).
	MaxConcurrency int
}

// waitingPerSlot bounds the started-and-not-attempted deliveries of a
// webhook whose deliveries already wait for its concurrency slots (a slow
// receiver's backlog) to this many per request it may have in flight.
// More could not be sent any sooner: they would only wait in Temporal,
// polling for a slot, and every poll is work the Temporal server and the
// worker do for everyone. A webhook whose deliveries are sent as they come
// keeps its share of the window; one whose deliveries wait for another
// limit (its rate) holds up to this many per slot beyond its share, and no
// more than its share again: its waiters take no place of the window, but
// every start of a throttled webhook soon waits, and waiters poll too.
const waitingPerSlot = 2

// openStarts counts one webhook's deliveries started and not yet attempted.
type openStarts struct {
	TenantID  string
	WebhookID string
	N         int
	// Limited of them wait for one of the webhook's concurrency slots, or
	// for their tenant's share of a worker's slots (either way the webhook
	// cannot send faster, so more starts would only poll).
	Limited int
	// Waiters of them wait for a limit (Limited included): they sleep on
	// workflow timers or poll for a slot, not in Temporal's queue, so they
	// hold places on top of the window and of their shares, bounded per
	// webhook.
	Waiters int
}

// shareOf is the most of the window one of n active tenants (or webhooks)
// may hold: an equal part of it, keeping a part free for one more, so that
// a tenant (or webhook) that shows up finds room at once instead of
// waiting for the others' starts to drain.
func shareOf(window, n int) int {
	return max(1, window/(n+1))
}

// fairShares hands out room places of the window, one at a time, each to
// the tenant holding the fewest (then, within it, the webhook holding the
// fewest), skipping a tenant or webhook at its share. It returns the
// webhook of each place, in the order the places were given: the claim
// order, tenants and webhooks interleaved. A webhook may have fewer waiting
// deliveries than it is given places; the rest of the room goes unused
// until the next claim.
//
// Places held count against shares only while ready (not waiting for a
// limit): a webhook slowed by its rate keeps starting up to its share
// however many of its starts wait. Its waiters are still bounded, by
// capOf on all it holds, or each claim would add starts that soon wait.
// The shares of ready places are of ready (the starter's adaptive window,
// at most window); the waiters' bound is of the whole window. held reports
// that the shares of ready stopped it before room ran out: a tenant at its
// share, or a webhook at its share of ready places, with deliveries
// waiting and under its bound in all.
func fairShares(queues []outboxQueue, open []openStarts, window, ready, room int) (order []string, held bool) {
	tenantReady, hookReady, hookAll := map[string]int{}, map[string]int{}, map[string]int{}
	hooksOf := map[string]map[string]bool{}
	active := func(tenant, hook string) {
		if hooksOf[tenant] == nil {
			hooksOf[tenant] = map[string]bool{}
		}
		hooksOf[tenant][hook] = true
	}
	limited := map[string]bool{}
	for _, o := range open {
		limited[o.WebhookID] = limited[o.WebhookID] || o.Limited > 0
		tenantReady[o.TenantID] += o.N - o.Waiters
		hookReady[o.WebhookID] += o.N - o.Waiters
		hookAll[o.WebhookID] += o.N
		active(o.TenantID, o.WebhookID)
	}
	waiting := map[string][]string{} // tenant → its webhooks with waiting deliveries
	var tenants []string
	for _, q := range queues {
		if waiting[q.TenantID] == nil {
			tenants = append(tenants, q.TenantID)
		}
		waiting[q.TenantID] = append(waiting[q.TenantID], q.WebhookID)
		active(q.TenantID, q.WebhookID)
	}
	slices.Sort(tenants)
	tenantCap := shareOf(ready, len(hooksOf))
	// A webhook's share is counted against the whole window, so that a
	// tenant's one slow webhook leaves room for its others.
	activeHooks := 0
	for _, hs := range hooksOf {
		activeHooks += len(hs)
	}
	hookCap, waiterCap := shareOf(ready, activeHooks), shareOf(window, activeHooks)
	// capOf bounds the places a webhook holds in all, waiters included:
	// its share of ready places, and its share of the whole window in
	// waiters at most (waitingPerSlot per slot if fewer), so that waiters
	// in all stay within about one window; once
	// its starts wait for its slots (a slow receiver's backlog),
	// waitingPerSlot per slot and no more than its share.
	capOf := map[string]int{}
	for _, q := range queues {
		waiters := waiterCap
		if q.MaxConcurrency > 0 {
			waiters = min(waiterCap, waitingPerSlot*q.MaxConcurrency)
		}
		capOf[q.WebhookID] = hookCap + waiters
		if q.MaxConcurrency > 0 && limited[q.WebhookID] {
			capOf[q.WebhookID] = max(1, min(hookCap, waitingPerSlot*q.MaxConcurrency))
		}
	}
	under := func(h string) bool { return hookReady[h] < hookCap && hookAll[h] < capOf[h] }

	for len(order) < room {
		// The tenant holding the fewest, among those under their share with
		// a webhook under its share.
		best, bestHook := "", ""
		for _, t := range tenants {
			if tenantReady[t] >= tenantCap || (best != "" && tenantReady[t] >= tenantReady[best]) {
				continue
			}
			if h := fewest(waiting[t], hookReady, under); h != "" {
				best, bestHook = t, h
			}
		}
		if best == "" {
			for _, t := range tenants {
				for _, h := range waiting[t] {
					held = held || (hookAll[h] < capOf[h] && (hookReady[h] >= hookCap || tenantReady[t] >= tenantCap))
				}
			}
			break
		}
		// A new start is ready until it meets a limit.
		tenantReady[best]++
		hookReady[bestHook]++
		hookAll[bestHook]++
		order = append(order, bestHook)
	}
	return order, held
}

// fewest is the webhook of hooks holding the fewest places, among those
// under their bounds ("" if none is).
func fewest(hooks []string, held map[string]int, under func(string) bool) string {
	hooks = slices.DeleteFunc(slices.Clone(hooks), func(h string) bool { return !under(h) })
	if len(hooks) == 0 {
		return ""
	}
	return slices.MinFunc(hooks, func(a, b string) int {
		return cmp.Or(cmp.Compare(held[a], held[b]), cmp.Compare(a, b))
	})
}
