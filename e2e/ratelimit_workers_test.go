package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/telemetry"
)

// TestRateLimitHoldsAcrossWorkerProcesses: a webhook's rateLimit is one
// limit for every worker process, not one per process: with two workers
// both sending, the receiver never gets more than
// the limit and a little in any one-second window. The limiter grants at
// most limit + 1 per window; one more is allowed for the time from a grant
// to the request's arrival on a loaded machine. A limiter per process
// would let through twice the limit.
func TestRateLimitHoldsAcrossWorkerProcesses(t *testing.T) {
	st := rig.NewStack(t)
	// Two worker processes and none in this one: the in-process worker
	// would take every delivery eagerly at its start.
	st.Worker.Stop()
	workers := []*rig.ChildWorker{st.StartChildWorker(t), st.StartChildWorker(t)}
	const limit, events = 4, 40
	g := newGauge(t, 0, func(*http.Request) int { return http.StatusOK })
	createLimited(st, "paced-by-two", g.URL, map[string]any{"rateLimit": limit})
	for i := range events {
		st.PostEvent(fmt.Sprintf("evt-two-%d", i), "order.created")
	}
	// Temporal keeps a delivery on the worker that ran its first task, and
	// may hand every first task to one process: if one has made every
	// attempt so far, it stops (gracefully) and the other takes its
	// waiting deliveries over, reservations included.
	g.waitArrivals(t, events/4, 60*time.Second)
	made := []float64{workers[0].Counter(t, telemetry.AttemptsTotal), workers[1].Counter(t, telemetry.AttemptsTotal)}
	if made[0] == 0 || made[1] == 0 {
		busy := 0
		if made[1] > 0 {
			busy = 1
		}
		workers[busy].Stop(t)
		workers = workers[1-busy : 2-busy]
	}
	arrivals := g.waitArrivals(t, events, 90*time.Second)
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	if most := mostInWindow(arrivals, time.Second); most > limit+2 {
		t.Fatalf("%d requests in one second under rateLimit %d/s, want at most %d: %v", most, limit, limit+2, arrivals)
	}
	// Both processes sent (the one still running, too, if the other
	// stopped): this measured two workers, not one.
	for _, w := range workers {
		if n := w.Counter(t, telemetry.AttemptsTotal); n == 0 || n >= events {
			t.Fatalf("a worker process made %v of %d attempts", n, events)
		}
	}
	if took := arrivals[len(arrivals)-1].Sub(arrivals[0]); took < (events-1)*time.Second/limit-time.Second {
		t.Fatalf("%d requests in %v under rateLimit %d/s", events, took, limit)
	}
}

// mostInWindow is the most of the sorted times at in any window of length w.
func mostInWindow(at []time.Time, w time.Duration) int {
	most, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}
