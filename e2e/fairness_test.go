package e2e

import (
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// TestSlowTenantDoesNotDelayAnother: on a real Temporal server, tenant
// noisy has 1,000 deliveries pending to a receiver that answers after 4 s
// (with the stack's 64 worker slots, its backlog takes over a minute);
// tenant quiet's deliveries to a fast receiver arrive within 20 s, their
// p99 (about 0.1 s on an idle system; the bound leaves room for a loaded
// machine). Oldest-first admission made them wait for the whole backlog.
func TestSlowTenantDoesNotDelayAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about a minute")
	}
	st := rig.NewStack(t)
	res := st.RunNeighbours(rig.Neighbours{Backlog: 1000, Delay: 4 * time.Second, Quiet: 20, Every: 250 * time.Millisecond}, 2*time.Minute)
	t.Logf("quiet tenant: p50 %v, p99 %v; noisy receiver answered %d of 1000 meanwhile", res.P(0.5), res.P(0.99), res.NoisyDone)
	if res.NoisyDone >= 1000 {
		t.Fatalf("the noisy backlog was done before the quiet tenant's events arrived: the test shows nothing")
	}
	if p99 := res.P(0.99); p99 > 20*time.Second {
		t.Fatalf("quiet tenant's p99 = %v behind a slow tenant's backlog, want < 20s", p99)
	}
}

// TestSlowTenantHoldsAtMostItsShareOfSlots: tenant noisy has 6 webhooks
// (each may have 10 requests in flight) to a receiver that answers after
// 4 s, 300 deliveries pending, on a worker of 24 slots. Its requests in
// flight never pass half the worker's slots (its share, alone: 24 ÷ 2;
// beside the quiet tenant, 24 ÷ 3), so the quiet tenant's deliveries find
// a slot; without the share the slow ones took all 24.
func TestSlowTenantHoldsAtMostItsShareOfSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about half a minute")
	}
	st := rig.NewStackWith(t, rig.Options{WorkerConcurrency: 24})
	res := st.RunNeighbours(rig.Neighbours{Backlog: 300, Webhooks: 6, Delay: 4 * time.Second, Quiet: 20, Every: 250 * time.Millisecond}, 2*time.Minute)
	t.Logf("quiet tenant: p50 %v, p99 %v; noisy receiver: %d in flight at most, answered %d of 300 meanwhile", res.P(0.5), res.P(0.99), res.NoisyPeak, res.NoisyDone)
	if res.NoisyDone >= 300 {
		t.Fatalf("the noisy backlog was done before the quiet tenant's events arrived: the test shows nothing")
	}
	if res.NoisyPeak > 12 {
		t.Fatalf("the slow tenant had %d requests in flight on a worker of 24 slots, want at most its share, 12", res.NoisyPeak)
	}
	if res.NoisyPeak < 8 {
		t.Fatalf("the slow tenant had only %d requests in flight: the test shows nothing", res.NoisyPeak)
	}
	if p99 := res.P(0.99); p99 > 20*time.Second {
		t.Fatalf("quiet tenant's p99 = %v behind a slow tenant's backlog, want < 20s", p99)
	}
}
