package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/telemetry"
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

	woken := wokenDeliveries(t, st, ids)
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
	// Operators see them too.
	signalled := 0.0
	for _, m := range st.MetricFamilies()[telemetry.WakeUpsTotal].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "outcome" && l.GetValue() == telemetry.WakeUpSignalled {
				signalled += m.GetCounter().GetValue()
			}
		}
	}
	if signalled < float64(woken) {
		t.Fatalf("%s{outcome=%q} is %v, want at least the %d woken", telemetry.WakeUpsTotal, telemetry.WakeUpSignalled, signalled, woken)
	}
	// 100 ms at the receiver and a workflow task and a local activity
	// for the hand-over (about 115 ms in all on two idle cores), against
	// about 900 ms when waiters found the slot by polling.
	if median > 600*time.Millisecond {
		t.Fatalf("median time between requests %v, want under 600 ms (the receiver takes 100 ms)", median)
	}
}

// TestRaisedMaxConcurrencyReachesWaitingDeliveries: six events for a
// webhook with maxConcurrency 1 whose receiver takes 8 s (its timeout is
// 10 s); with the first
// in flight and others waiting for the slot (the rest held back in the
// outbox), maxConcurrency is raised to 6. The waiters are woken by the edit
// and go at once, the rest are started, all six in flight together.
// Before, each waiter asked again only at its next poll, the nearer its
// turn the sooner (about half a second per place in line here).
func TestRaisedMaxConcurrencyReachesWaitingDeliveries(t *testing.T) {
	t.Parallel()
	st := rig.NewStack(t)
	g := newGauge(t, 8*time.Second, func(*http.Request) int { return http.StatusOK })
	hookID := createLimited(st, "raised-concurrency", g.URL, map[string]any{"maxConcurrency": 1})
	const events = 6
	var ids []string
	for i := range events {
		for _, d := range st.PostEvent(fmt.Sprintf("evt-raised-conc-%d", i), "order.created").Deliveries {
			ids = append(ids, d.ID)
		}
	}
	g.waitArrivals(t, 1, 30*time.Second)
	waiting := 0
	// Well before the first request ends (8 s).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var stats struct {
			Limits struct {
				Waiting struct {
					Concurrency int `json:"concurrency"`
				} `json:"waiting"`
			} `json:"limits"`
		}
		st.Call("GET", "/api/v1/webhooks/"+hookID+"/stats", nil, &stats)
		// The start window holds the rest back: a webhook whose started
		// deliveries wait for its slots gets no more places than twice
		// its maxConcurrency.
		if waiting = stats.Limits.Waiting.Concurrency; waiting >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries wait for the slot 5 s after the first request began, want 2 or more", waiting)
		}
	}
	doc := st.Webhook(hookID)
	doc["webhookConfig"].(map[string]any)["maxConcurrency"] = events
	if code := st.Call("PUT", "/api/v1/webhooks/"+hookID, doc, nil); code != http.StatusOK {
		t.Fatalf("raise maxConcurrency: %d", code)
	}
	edited := time.Now()
	arrivals := g.waitArrivals(t, events, 60*time.Second)
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	took := arrivals[events-1].Sub(edited)
	// Every request began before the first could end (each takes 8 s), so
	// no request's end woke anyone: the edit's wake-ups were the only
	// ones.
	if span := arrivals[events-1].Sub(arrivals[0]); span >= 8*time.Second {
		t.Fatalf("the requests began over %v: the first had ended, so its end may have woken a waiter", span)
	}
	if most, _ := g.snapshot(); most != events || len(ids) != events {
		t.Fatalf("%d deliveries, at most %d in flight; want %d of each", len(ids), most, events)
	}
	woken := wokenDeliveries(t, st, ids)
	t.Logf("%d waited; the last of %d requests arrived %v after the edit; %d woken", waiting, events, took.Round(time.Millisecond), woken)
	// One that was asking just as the edit landed may be let in by it
	// instead of woken.
	if woken == 0 {
		t.Fatalf("no delivery was woken by the edit; %d waited", waiting)
	}
	// The waiters take a signal, a workflow task and a local activity; the
	// deliveries held back in the outbox a start besides (the edit wakes
	// the starter). Polling alone left the waiters about half a second
	// apart.
	if took > 3*time.Second {
		t.Fatalf("the last request arrived %v after maxConcurrency was raised to %d, want within 3 s", took, events)
	}
}

// wokenDeliveries waits for the deliveries to succeed and counts those
// whose wait for a limit a limits-changed signal ended: signalled, and a
// wait's timer cancelled after it (a signal that came during a send ends
// no wait).
func wokenDeliveries(t *testing.T, st *rig.Stack, ids []string) int {
	t.Helper()
	woken := 0
	for _, id := range ids {
		st.WaitDelivery(id, "succeeded", 30*time.Second)
		it := st.Client.GetWorkflowHistory(t.Context(), workflows.DeliveryWorkflowID(id), "", false,
			enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
	return woken
}
