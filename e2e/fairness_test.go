package e2e

import (
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// TestSlowTenantDoesNotDelayAnother: on a real Temporal server, tenant
// noisy has 600 deliveries pending to a receiver that answers after 4 s
// (with the stack's 64 worker slots its backlog takes over 30 s); tenant
// quiet's deliveries to a fast receiver still arrive within 3 s, their
// p99. Oldest-first admission made them wait for the whole backlog.
func TestSlowTenantDoesNotDelayAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about a minute")
	}
	st := rig.NewStack(t)
	res := st.RunNeighbours(rig.Neighbours{Backlog: 600, Delay: 4 * time.Second, Quiet: 20, Every: 250 * time.Millisecond}, 2*time.Minute)
	t.Logf("quiet tenant: p50 %v, p99 %v; noisy receiver answered %d of 600 meanwhile", res.P(0.5), res.P(0.99), res.NoisyDone)
	if res.NoisyDone >= 600 {
		t.Fatalf("the noisy backlog was done before the quiet tenant's events arrived: the test shows nothing")
	}
	if p99 := res.P(0.99); p99 > 3*time.Second {
		t.Fatalf("quiet tenant's p99 = %v behind a slow tenant's backlog, want < 3s", p99)
	}
}
