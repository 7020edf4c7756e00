package activities

import (
	"context"
	"sync"
)

// TenantShares shares a worker's send slots among tenants (see
// docs/architecture.md, "Scheduling model"): requests in flight from this
// worker process, counted per tenant, are at most Slots ÷ (tenants with a
// request in flight + 1) for any one tenant. The + 1 keeps a share free,
// so a tenant that shows up finds room even while others' slow receivers
// hold theirs. A send refused its share waits as for a webhook's
// concurrency limit, on a workflow timer: holding no slot. The zero
// Slots (and a nil *TenantShares) shares nothing.
type TenantShares struct {
	// Slots are the worker's concurrent sends (WORKER_CONCURRENCY).
	Slots int

	mu       sync.Mutex
	inFlight map[string]int
}

// take reserves one of tenant's slots, or reports false when the tenant
// holds its share; release gives a reserved slot back.
func (t *TenantShares) take(tenant string) (release func(), ok bool) {
	if t == nil || t.Slots <= 0 {
		return func() {}, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inFlight == nil {
		t.inFlight = map[string]int{}
	}
	tenants := len(t.inFlight)
	if t.inFlight[tenant] == 0 {
		tenants++
	}
	if t.inFlight[tenant] >= max(1, t.Slots/(tenants+1)) {
		return nil, false
	}
	t.inFlight[tenant]++
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.inFlight[tenant]--; t.inFlight[tenant] <= 0 {
				delete(t.inFlight, tenant)
			}
		})
	}, true
}

// InFlight is tenant's requests in flight from this worker.
func (t *TenantShares) InFlight(tenant string) int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inFlight[tenant]
}

// webhookGates lets one slot request per webhook at a time go to the
// database from this process. They would queue there anyway, on the
// webhook's limiter row, each holding one of the store's few connections
// and, meanwhile, its workflow task's worker slots: a webhook with many
// waiters (a slow receiver's backlog) left every other tenant's attempts
// without a slot or a connection. Requests queue at the gate, holding no
// connection, up to a bound (the webhook's maxConcurrency); one that finds
// the queue full is refused at once and waits on a workflow timer,
// holding nothing. The zero value is ready.
type webhookGates struct {
	mu    sync.Mutex
	gates map[string]*gate
}

type gate struct {
	lock  chan struct{} // holds a token while a request is in the database
	users int           // requests holding or waiting for the gate
}

// enter takes webhookID's gate and returns its exit, which reports
// whether a request coming then would be let in (room). With more than
// queue others holding or waiting for it (queue < 0: no bound), or once
// ctx ends, ok is false.
func (g *webhookGates) enter(ctx context.Context, webhookID string, queue int) (exit func() (room bool), ok bool) {
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[string]*gate{}
	}
	gt := g.gates[webhookID]
	if gt == nil {
		gt = &gate{lock: make(chan struct{}, 1)}
		g.gates[webhookID] = gt
	}
	gt.users++
	others := gt.users - 1
	g.mu.Unlock()
	leave := func() (room bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if gt.users--; gt.users == 0 {
			delete(g.gates, webhookID)
		}
		return queue < 0 || gt.users <= queue
	}
	if queue < 0 || others <= queue {
		select {
		case gt.lock <- struct{}{}:
			return func() bool { <-gt.lock; return leave() }, true
		case <-ctx.Done():
		}
	}
	leave()
	return nil, false
}
