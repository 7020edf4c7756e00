package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/workflows"
)

// scrape reads the stack's /metrics into name{labels} → value.
func scrape(t testing.TB, st *rig.Stack) map[string]float64 {
	t.Helper()
	families := st.MetricFamilies()
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestEndToEndMetricsMoveWithDeliveries: after one delivery to each of four
// receivers (200, 500, 410, and one slower than the webhook's timeout), the
// attempt counters moved by exactly one each, with the right outcome and
// status class; the success latency was observed once; the gauges show the
// waiting retries; and the Temporal SDK's own metrics are there.
func TestEndToEndMetricsMoveWithDeliveries(t *testing.T) {
	st := rig.NewStack(t, time.Hour) // one attempt each: the retry waits an hour
	before := scrape(t, st)
	slow := rig.NewRecorder(t, func(int) int { time.Sleep(2 * time.Second); return 200 })
	for _, c := range []struct {
		name   string
		code   int
		url    string
		status string
	}{
		{"ok", 200, "", "succeeded"}, {"broken", 500, "", "awaitingRetry"}, {"gone", 410, "", "failed"}, {"slow", 0, slow.URL, "awaitingRetry"},
	} {
		url := c.url
		if url == "" {
			url = rig.NewRecorder(t, rig.Always(c.code)).URL
		}
		var hook map[string]any
		if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
			"name": c.name, "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": c.name}},
			"webhookConfig": map[string]any{"endpoint": url, "timeout": 1},
		}, &hook); code != 201 {
			t.Fatalf("create %s: %d", c.name, code)
		}
		var ans rig.Ingested
		st.Call("POST", "/api/v1/events", map[string]any{"id": "evt-" + c.name, "type": c.name}, &ans)
		st.WaitDelivery(ans.Deliveries[0].ID, c.status, 15*time.Second)
	}
	after := scrape(t, st)
	delta := func(key string) float64 { return after[key] - before[key] }
	for key, want := range map[string]float64{
		"webhookd_delivery_attempts_total{outcome=success,status_class=2xx}":                     1,
		"webhookd_delivery_attempts_total{outcome=failure,status_class=5xx}":                     1,
		"webhookd_delivery_attempts_total{outcome=gone,status_class=4xx}":                        1,
		"webhookd_delivery_attempts_total{outcome=failure,status_class=none}":                    1,
		"webhookd_delivery_attempt_duration_seconds{outcome=failure}_count":                      2,
		"webhookd_delivery_event_to_success_seconds{}_count":                                     1,
		"webhookd_events_ingested_total{result=new}":                                             4,
		"webhookd_deliveries{status=awaitingRetry}":                                              2,
		"webhookd_deliveries{status=failed}":                                                     1,
		"webhookd_deliveries{status=held}":                                                       0,
		"webhookd_start_backlog{}":                                                               0,
		"webhookd_api_request_duration_seconds{code=202,method=POST,route=/api/v1/events}_count": 4,
	} {
		if got := delta(key); got != want {
			t.Errorf("%s moved by %v, want %v", key, got, want)
		}
	}
	sdk := 0
	for key := range after {
		if strings.HasPrefix(key, "temporal_") {
			sdk++
		}
	}
	if sdk == 0 {
		t.Error("no Temporal SDK metric (temporal_*) in /metrics")
	}
}

// TestEndToEndOperationalEvents: a webhook's health changes reach the
// tenant's alert webhook (subscribed to webhookd.webhook.*) as events:
// failing, recovered, retryLimitReached, disabled. A webhook never gets
// events about itself, and an alert webhook that fails raises none, so two
// failing alert channels cannot feed each other.
func TestEndToEndOperationalEvents(t *testing.T) {
	st := rig.NewStack(t, fastSchedule...)
	var flaky struct {
		sync.Mutex
		status int
	}
	flaky.status = 500
	target := rig.NewRecorder(t, func(int) int { flaky.Lock(); defer flaky.Unlock(); return flaky.status })
	gone := rig.NewRecorder(t, rig.Always(410))
	alerts := rig.NewRecorder(t, rig.Always(200))
	brokenAlerts := rig.NewRecorder(t, rig.Always(503))
	st.CreateTenantWebhook("acme", "flaky", "order.*", target.URL)
	st.CreateTenantWebhook("acme", "gone", "order.*", gone.URL)
	st.CreateTenantWebhook("acme", "alerts", "webhookd.webhook.*", alerts.URL)
	st.CreateTenantWebhook("acme", "broken-alerts", "webhookd.webhook.*", brokenAlerts.URL)
	// Another tenant's alert channel hears nothing of acme.
	otherAlerts := rig.NewRecorder(t, rig.Always(200))
	st.CreateTenantWebhook("beta", "alerts", "webhookd.webhook.*", otherAlerts.URL)

	first := st.PostTenantEvent("acme", "evt-1", "order.created")
	byHook := map[string]string{}
	for _, d := range first.Deliveries {
		byHook[d.WebhookID] = d.ID
	}
	// flaky fails 7 times (retryLimitReached), gone answers 410 (disabled).
	for _, id := range byHook {
		st.WaitDelivery(id, "failed", 30*time.Second)
	}
	flaky.Lock()
	flaky.status = 200
	flaky.Unlock()
	second := st.PostTenantEvent("acme", "evt-2", "order.created")
	st.WaitDelivery(second.Deliveries[0].ID, "succeeded", 15*time.Second)

	type opEvent struct {
		Event string `json:"event"`
		Data  struct {
			WebhookName    string         `json:"webhookName"`
			Status         string         `json:"status"`
			FailureDetails map[string]any `json:"failureDetails"`
		} `json:"data"`
	}
	want := []string{"failing flaky", "disabled gone", "retryLimitReached flaky", "recovered flaky"}
	alerts.WaitHits(t, len(want), 20*time.Second)
	time.Sleep(time.Second) // anything more would have come by now
	var got []string
	for i := range alerts.Count() {
		var ev opEvent
		if err := json.Unmarshal(alerts.Get(i).Body, &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimPrefix(ev.Event, "webhookd.webhook.")+" "+ev.Data.WebhookName)
		if ev.Event == "webhookd.webhook.failing" && (ev.Data.Status != "awaitingRetry" || ev.Data.FailureDetails["lastFailedStatusCode"] != float64(500)) {
			t.Errorf("failing event data: %s", alerts.Get(i).Body)
		}
	}
	if !sameSet(got, want) {
		t.Fatalf("alert channel got %v, want %v", got, want)
	}
	// The broken channel got the same events (and failed them all), but
	// raised none about itself and none reached the working channel.
	for _, g := range got {
		if strings.HasSuffix(g, "broken-alerts") || strings.HasSuffix(g, " alerts") {
			t.Fatalf("an alert channel reported on itself or another channel: %v", got)
		}
	}
	if otherAlerts.Count() != 0 {
		t.Fatalf("beta's alert channel heard %d events of acme", otherAlerts.Count())
	}
	var n int64
	ctx := context.Background()
	if n, _ = st.Store.CountDeliveries(ctx, store.DeliveryQuery{TenantID: "acme", EventType: "webhookd.webhook.failing"}); n != 2 {
		t.Fatalf("deliveries of the failing event: %d, want 2 (one per alert channel)", n)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestEndToEndPauseKeepsEvents: while a webhook is paused nothing is sent and
// its events wait as held deliveries (a retry in progress holds too); resume
// sends them, oldest first.
func TestEndToEndPauseKeepsEvents(t *testing.T) {
	// One start at a time in a window of one: deliveries go out strictly in
	// the order the starter takes them.
	st := rig.NewStackWith(t, rig.Options{RetryDelays: []time.Duration{time.Second}, StartWindow: 1, StartParallel: 1})
	var mu sync.Mutex
	failFirst := true
	rc := rig.NewRecorder(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if failFirst {
			failFirst = false
			return 500
		}
		return 200
	})
	hookID := st.CreateWebhook("maintenance", rc.URL, "")
	// A delivery in progress: its first attempt fails, its retry is due in 1s.
	inFlight := st.PostEvent("evt-0", "order.created").Deliveries[0].ID
	st.WaitDelivery(inFlight, "awaitingRetry", 10*time.Second)
	if code := st.Call("POST", "/api/v1/webhooks/"+hookID+"/pause", nil, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	var held []string
	for i := 1; i <= 5; i++ {
		held = append(held, st.PostEvent(fmt.Sprintf("evt-%d", i), "order.created").Deliveries[0].ID)
	}
	for _, id := range held {
		st.WaitDelivery(id, "held", 5*time.Second)
	}
	st.WaitDelivery(inFlight, "held", 10*time.Second) // held at its next attempt
	if rc.Count() != 1 {
		t.Fatalf("the receiver got %d requests while paused, want only the first failure", rc.Count())
	}
	var log listT
	st.Call("GET", "/api/v1/webhooks/"+hookID+"/deliveries?status=held", nil, &log)
	if len(log.Data) != 6 {
		t.Fatalf("held deliveries in the log: %d", len(log.Data))
	}
	waitVisible(t, st, fmt.Sprintf(`WebhookId = %q AND DeliveryStatus = "held"`, hookID), 1)

	var resumed struct{ Released int }
	if code := st.Call("POST", "/api/v1/webhooks/"+hookID+"/resume", nil, &resumed); code != 200 || resumed.Released != 6 {
		t.Fatalf("resume: %d released %d", code, resumed.Released)
	}
	rc.WaitHits(t, 7, 30*time.Second)
	var order []string
	for i := 1; i < rc.Count(); i++ {
		order = append(order, rc.Get(i).Header.Get("X-Webhook-ID"))
	}
	want := []string{"evt-0", "evt-1", "evt-2", "evt-3", "evt-4", "evt-5"}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("after resume the receiver got %v, want oldest first %v", order, want)
	}
	d := st.WaitDelivery(inFlight, "succeeded", 10*time.Second)
	if d.Attempts != 2 || d.AttemptLog[1].Number != 2 {
		t.Fatalf("the delivery held mid-retry = %+v, want attempt 2 to succeed", d)
	}
}

// TestEndToEndDisableStopsAtOnce: disabling (or deleting) a webhook ends its
// deliveries waiting for a retry within seconds, recorded cancelled and with
// their workflows closed, not hours later at their next attempt.
func TestEndToEndDisableStopsAtOnce(t *testing.T) {
	st := rig.NewStack(t, 12*time.Hour)
	for _, how := range []string{"disable", "soft delete", "hard delete"} {
		t.Run(how, func(t *testing.T) {
			rc := rig.NewRecorder(t, rig.Always(500))
			name := strings.ReplaceAll(how, " ", "-")
			hookID := st.CreateWebhook(name, rc.URL, "")
			id := st.PostEvent("evt-"+name, "order.created").Deliveries[0].ID
			st.WaitDelivery(id, "awaitingRetry", 10*time.Second)
			began := time.Now()
			switch how {
			case "disable":
				doc := st.Webhook(hookID)
				doc["enabled"] = false
				if code := st.Call("PUT", "/api/v1/webhooks/"+hookID, doc, nil); code != 200 {
					t.Fatalf("disable: %d", code)
				}
			case "soft delete":
				st.Call("DELETE", "/api/v1/webhooks/"+hookID, nil, nil)
			case "hard delete":
				st.Call("DELETE", "/api/v1/webhooks/"+hookID+"?hardDelete=true", nil, nil)
			}
			wf := workflows.DeliveryWorkflowID(id)
			for {
				desc, err := st.Client.DescribeWorkflowExecution(context.Background(), wf, "")
				if err != nil {
					t.Fatal(err)
				}
				if s := desc.GetWorkflowExecutionInfo().GetStatus(); s != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
					if s != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
						t.Fatalf("the workflow ended %v, want completed (it handles the cancellation)", s)
					}
					break
				}
				if time.Since(began) > 10*time.Second {
					t.Fatalf("the workflow is still running %v after the webhook was %sd", time.Since(began), how)
				}
				time.Sleep(50 * time.Millisecond)
			}
			var res workflows.DeliveryResult
			if err := st.Client.GetWorkflow(context.Background(), wf, "").Get(context.Background(), &res); err != nil || res.Status != "cancelled" {
				t.Fatalf("workflow result %+v %v", res, err)
			}
			if how != "hard delete" {
				st.WaitDelivery(id, "cancelled", 2*time.Second)
			}
			t.Logf("%s: workflow closed %v after the request", how, time.Since(began).Round(time.Millisecond))
		})
	}
}

// TestGoneEndsTheWebhooksOtherDeliveries: a 410 Gone disables the webhook,
// and its other open deliveries end at once (cancelled), as when it is
// disabled through the API, instead of waiting out their retries.
func TestGoneEndsTheWebhooksOtherDeliveries(t *testing.T) {
	t.Parallel()
	st := rig.NewStack(t, time.Hour) // a failed attempt waits an hour for its retry
	gone := rig.NewRecorder(t, func(n int) int {
		if n == 1 {
			return 500
		}
		return 410
	})
	st.CreateTenantWebhook("acme", "leaving", "order.*", gone.URL)
	waiting := st.PostTenantEvent("acme", "evt-waiting", "order.created")
	st.WaitDelivery(waiting.Deliveries[0].ID, "awaitingRetry", 15*time.Second)
	last := st.PostTenantEvent("acme", "evt-gone", "order.created")
	st.WaitDelivery(last.Deliveries[0].ID, "failed", 15*time.Second)
	st.WaitDelivery(waiting.Deliveries[0].ID, "cancelled", 15*time.Second)
	if n := gone.Count(); n != 2 {
		t.Fatalf("the receiver got %d requests, want 2", n)
	}
}
