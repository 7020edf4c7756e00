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
