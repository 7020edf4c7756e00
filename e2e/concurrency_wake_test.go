package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/workflows"
)

// TestFreedSlotWakesTheNextWaiter: twelve events at once for a webhook
// with maxConcurrency 1 whose receiver takes 100 ms. Each request that
// ends wakes the oldest delivery waiting for the slot (its workflow gets
// the limits-changed signal), so the requests follow each other at about
// the receiver's pace. Before, the slot stayed free until a waiter's next
// poll: about 900 ms between requests.
func TestFreedSlotWakesTheNextWaiter(t *testing.T) {
	t.Parallel()
	st := rig.NewStack(t)
	g := newGauge(t, 100*time.Millisecond, func(*http.Request) int { return http.StatusOK })
	createLimited(st, "freed-slot", g.URL, map[string]any{"maxConcurrency": 1})
	const events = 12
	var ids []string
	for i := range events {
		for _, d := range st.PostEvent(fmt.Sprintf("evt-freed-%d", i), "order.created").Deliveries {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) != events {
		t.Fatalf("%d deliveries for %d events", len(ids), events)
	}
	arrivals := g.waitArrivals(t, events, 90*time.Second)
	if most, all := g.snapshot(); most != 1 || len(all) != events {
		t.Fatalf("%d requests, at most %d in flight; want %d, at most 1", len(all), most, events)
	}

	woken := 0
	for _, id := range ids {
		st.WaitDelivery(id, "succeeded", 30*time.Second)
		it := st.Client.GetWorkflowHistory(t.Context(), workflows.DeliveryWorkflowID(id), "", false,
			enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		// Woken: signalled, and a wait's timer cancelled after it (a
		// signal that came during a send ends no wait).
		signalled := false
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.LimitsChangedSignal {
				signalled = true
			}
			if signalled && ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_CANCELED {
				woken++
				break
			}
		}
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	gaps := make([]time.Duration, 0, events-1)
	for i := 1; i < len(arrivals); i++ {
		gaps = append(gaps, arrivals[i].Sub(arrivals[i-1]))
	}
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	t.Logf("%d of %d deliveries woken; between requests: median %v, longest %v",
		woken, events, median.Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond))
	// Every delivery but the first waits for the slot, unless it finds
	// it free when it starts (the start window holds some back) or a
	// wake-up is missed (a refusal that committed while the request
	// ended): 10 or 11 were woken in runs on two idle cores.
	if woken < events/3 {
		t.Fatalf("%d of %d deliveries were woken by a freed slot, want %d or more", woken, events, events/3)
	}
	// 100 ms at the receiver and a workflow task and a local activity
	// for the hand-over (about 115 ms in all on two idle cores), against
	// about 900 ms when waiters found the slot by polling.
	if median > 600*time.Millisecond {
		t.Fatalf("median time between requests %v, want under 600 ms (the receiver takes 100 ms)", median)
	}
}
