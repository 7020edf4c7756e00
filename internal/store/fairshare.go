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
	// times as many places (0: no bound).
	MaxConcurrency int
}

// waitingPerSlot bounds the started-and-not-attempted deliveries of a
// webhook whose deliveries already wait for its concurrency slots (a slow
// receiver's backlog) to this many per request it may have in flight.
// More could not be sent any sooner: they would only wait in Temporal,
// polling for a slot, and every poll is work the Temporal server and the
// worker do for everyone. A webhook whose deliveries are sent as they come
// keeps its share of the window.
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
func fairShares(queues []outboxQueue, open []openStarts, window, room int) []string {
	tenantOpen, hookOpen := map[string]int{}, map[string]int{}
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
		tenantOpen[o.TenantID] += o.N
		hookOpen[o.WebhookID] += o.N
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
	tenantCap := shareOf(window, len(hooksOf))
	// A webhook's share is counted against the whole window, so that a
	// tenant's one slow webhook leaves room for its others.
	activeHooks := 0
	for _, hs := range hooksOf {
		activeHooks += len(hs)
	}
	hookCap := shareOf(window, activeHooks)
	capOf := map[string]int{}
	for _, q := range queues {
		capOf[q.WebhookID] = hookCap
		if q.MaxConcurrency > 0 && limited[q.WebhookID] {
			capOf[q.WebhookID] = max(1, min(hookCap, waitingPerSlot*q.MaxConcurrency))
		}
	}

	var order []string
	for len(order) < room {
		// The tenant holding the fewest, among those under their share with
		// a webhook under its share.
		best, bestHook := "", ""
		for _, t := range tenants {
			if tenantOpen[t] >= tenantCap || (best != "" && tenantOpen[t] >= tenantOpen[best]) {
				continue
			}
			if h := fewest(waiting[t], hookOpen, capOf); h != "" {
				best, bestHook = t, h
			}
		}
		if best == "" {
			break
		}
		tenantOpen[best]++
		hookOpen[bestHook]++
		order = append(order, bestHook)
	}
	return order
}

// fewest is the webhook of hooks holding the fewest places, under its cap
// ("" if none is).
func fewest(hooks []string, open, capOf map[string]int) string {
	under := slices.DeleteFunc(slices.Clone(hooks), func(h string) bool { return open[h] >= capOf[h] })
	if len(under) == 0 {
		return ""
	}
	return slices.MinFunc(under, func(a, b string) int {
		return cmp.Or(cmp.Compare(open[a], open[b]), cmp.Compare(a, b))
	})
}
