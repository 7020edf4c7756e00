package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestEndToEndSignedDelivery: an event posted to the API reaches the receiver
// signed so that the official Standard Webhooks library verifies it, the
// delivery is logged as succeeded, and Temporal's visibility finds it by its
// search attributes.
func TestEndToEndSignedDelivery(t *testing.T) {
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	hookID := st.CreateWebhook("orders", rc.URL+"/in", rig.Secret)

	posted := time.Now()
	ans := st.PostEvent("evt-signed-1", "order.created")
	if len(ans.Deliveries) != 1 || ans.Deliveries[0].WebhookID != hookID {
		t.Fatalf("ingest answer = %+v", ans)
	}
	rc.WaitHits(t, 1, 10*time.Second)
	got := rc.Get(0)
	t.Logf("event → receiver: %v", got.At.Sub(posted))

	wh, err := standardwebhooks.NewWebhook(rig.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got.Body, got.Header); err != nil {
		t.Fatalf("Standard Webhooks verification failed: %v", err)
	}
	if got.Header.Get("X-Webhook-ID") != "evt-signed-1" || got.Header.Get("X-Event-Type") != "order.created" ||
		got.Header.Get("X-Webhook-Attempt") != "1" || got.Header.Get("X-Webhook-Signature") == "" {
		t.Fatalf("headers = %v", got.Header)
	}
	var env map[string]any
	if err := json.Unmarshal(got.Body, &env); err != nil || env["id"] != "evt-signed-1" || env["webhookName"] != "orders" {
		t.Fatalf("body = %s", got.Body)
	}

	d := st.WaitDelivery(ans.Deliveries[0].ID, "succeeded", 10*time.Second)
	if d.Attempts != 1 || len(d.AttemptLog) != 1 || d.AttemptLog[0].Response.StatusCode != 200 {
		t.Fatalf("delivery = %+v", d)
	}
	if w := st.Webhook(hookID); w["status"] != "active" {
		t.Fatalf("webhook status = %v", w["status"])
	}
	// The Web UI's query: WebhookId and DeliveryStatus are indexed and current.
	query := fmt.Sprintf(`WebhookId = %q AND DeliveryStatus = "succeeded" AND EventType = "order.created"`, hookID)
	waitVisible(t, st, query, 1)

	// Resend: a succeeded delivery can be replayed; the receiver gets it again.
	if code := st.Call("POST", "/api/v1/deliveries/"+d.ID+"/replay", nil, nil); code != 202 {
		t.Fatalf("resend = %d", code)
	}
	rc.WaitHits(t, 2, 10*time.Second)
	if again := rc.Get(1); again.Header.Get("X-Webhook-ID") != "evt-signed-1" || again.Header.Get("X-Webhook-Attempt") != "2" {
		t.Fatalf("resent headers = %v", again.Header)
	}
	if d := st.WaitDelivery(d.ID, "succeeded", 10*time.Second); d.Attempts != 2 || d.AttemptLog[1].Trigger != "replay" {
		t.Fatalf("after resend = %+v", d)
	}
}

func waitVisible(t *testing.T, st *rig.Stack, query string, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := st.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list workflows %q: %v", query, err)
		}
		if len(resp.Executions) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q found %d workflows, want %d", query, len(resp.Executions), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEndToEndFailTwiceThenSucceed: the receiver fails twice, then accepts;
// three attempts are recorded and the delivery succeeds. The schedule is
// shortened through the test-only Dispatcher option; the exact production
// waits are asserted by the workflow tests with time skipping.
func TestEndToEndFailTwiceThenSucceed(t *testing.T) {
	st := rig.NewStack(t, 300*time.Millisecond, 300*time.Millisecond)
	rc := rig.NewRecorder(t, func(n int) int {
		if n <= 2 {
			return 500
		}
		return 200
	})
	hookID := st.CreateWebhook("flaky", rc.URL, rig.Secret)
	ans := st.PostEvent("evt-flaky", "order.paid")

	rc.WaitHits(t, 1, 10*time.Second)
	d := st.WaitDelivery(ans.Deliveries[0].ID, "succeeded", 20*time.Second)
	if d.Attempts != 3 || len(d.AttemptLog) != 3 {
		t.Fatalf("delivery = %+v", d)
	}
	for i, want := range []int{500, 500, 200} {
		a := d.AttemptLog[i]
		if a.Number != i+1 || a.Response == nil || a.Response.StatusCode != want || a.Trigger != "scheduled" {
			t.Fatalf("attempt %d = %+v", i+1, a)
		}
	}
	for i := range 3 {
		if got := rc.Get(i).Header.Get("X-Webhook-Attempt"); got != fmt.Sprint(i+1) {
			t.Fatalf("request %d carried X-Webhook-Attempt %q", i+1, got)
		}
		if rc.Get(i).Header.Get("X-Webhook-ID") != "evt-flaky" {
			t.Fatal("X-Webhook-ID changed across retries")
		}
	}
	w := st.Webhook(hookID)
	if w["status"] != "active" || w["failureDetails"].(map[string]any)["lastFailedStatusCode"] != float64(500) {
		t.Fatalf("webhook after recovery = %v", w)
	}
}

// TestEndToEndWorkerDiesMidFlight: the worker stops while the receiver holds
// the first POST; a new worker picks the delivery up and completes it. The
// receiver sees the same X-Webhook-ID again (at-least-once).
func TestEndToEndWorkerDiesMidFlight(t *testing.T) {
	st := rig.NewStack(t)
	hold := make(chan struct{})
	rc := rig.NewRecorder(t, func(n int) int {
		if n == 1 {
			<-hold // the first request hangs until the worker is gone
		}
		return 200
	})
	st.CreateWebhook("patient", rc.URL, "")
	ans := st.PostEvent("evt-crash", "order.created")

	// Wait for the first POST to be in flight, then kill the worker.
	deadline := time.Now().Add(10 * time.Second)
	for rc.Count() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { st.Worker.Stop(); close(stopped) }()
	time.Sleep(200 * time.Millisecond)
	close(hold)
	<-stopped

	st.StartWorker()
	d := st.WaitDelivery(ans.Deliveries[0].ID, "succeeded", 45*time.Second)
	if rc.Count() < 1 || d.Attempts < 1 {
		t.Fatalf("delivery = %+v, receiver hits %d", d, rc.Count())
	}
	for i := range rc.Count() {
		if rc.Get(i).Header.Get("X-Webhook-ID") != "evt-crash" {
			t.Fatal("a retried POST changed X-Webhook-ID")
		}
	}
	t.Logf("receiver saw %d POSTs; delivery %+v", rc.Count(), d)
}

// TestEndToEndReconcilerStartsOrphans: a delivery the starter claimed but
// whose workflow never started (the process died between the claim and the
// start) is delivered by the reconciler.
func TestEndToEndReconcilerStartsOrphans(t *testing.T) {
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(204))
	hookID := st.CreateWebhook("orphan", rc.URL, "")
	old := store.Now().Add(-time.Minute)
	ev := &models.Event{ID: "evt-orphan", Type: "order.created", Timestamp: old, CreatedAt: old}
	d := models.Delivery{ID: "0190a000-0000-7000-8000-000000000001", EventID: ev.ID, WebhookID: hookID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: models.TriggerScheduled, DispatchedAt: &old, CreatedAt: old, UpdatedAt: old}
	if _, _, _, err := st.Store.IngestEvent(context.Background(), ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	n, err := st.Dispatcher.Reconcile(context.Background(), workflows.ReconcileAfter)
	if err != nil || n != 1 {
		t.Fatalf("reconcile: %d %v", n, err)
	}
	st.WaitDelivery(d.ID, "succeeded", 10*time.Second)
	// Running it again is harmless: nothing is pending.
	if n, err := st.Dispatcher.Reconcile(context.Background(), 0); err != nil || n != 0 {
		t.Fatalf("second reconcile: %d %v", n, err)
	}
	if rc.Count() != 1 {
		t.Fatalf("receiver hits = %d", rc.Count())
	}
}

// TestEndToEndIdempotentIngest: the same event id twice gives the same answer
// and one delivery.
func TestEndToEndIdempotentIngest(t *testing.T) {
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	st.CreateWebhook("once", rc.URL, "")
	first := st.PostEvent("evt-once", "order.created")
	second := st.PostEvent("evt-once", "order.created")
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Fatalf("answers differ: %+v vs %+v", first, second)
	}
	st.WaitDelivery(first.Deliveries[0].ID, "succeeded", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if rc.Count() != 1 {
		t.Fatalf("receiver hits = %d, want 1", rc.Count())
	}
}

// TestEndToEndPlannedFanOut: an event past the inline fan-out is answered
// with every delivery before their rows exist; the starter stores them as
// planned and each receiver gets the event once, under the answered ids.
// The event read meanwhile lists them too.
func TestEndToEndPlannedFanOut(t *testing.T) {
	st := rig.NewStackWith(t, rig.Options{InlineFanout: 2})
	rc := rig.NewRecorder(t, rig.Always(200))
	hooks := map[string]string{}
	for i := range 5 {
		path := fmt.Sprintf("/hook-%d", i)
		hooks[st.CreateWebhook(fmt.Sprintf("fan-%d", i), rc.URL+path, "")] = path
	}
	ans := st.PostEvent("evt-planned", "order.created")
	if len(ans.Deliveries) != 5 {
		t.Fatalf("ingest answer = %+v", ans)
	}
	var ev struct {
		Deliveries []struct{ ID, WebhookID string } `json:"deliveries"`
	}
	if code := st.Call("GET", "/api/v1/events/evt-planned", nil, &ev); code != 200 || len(ev.Deliveries) != 5 {
		t.Fatalf("the event: %d %+v", code, ev)
	}
	for _, d := range ans.Deliveries {
		if hooks[d.WebhookID] == "" {
			t.Fatalf("delivery %s to an unknown webhook %s", d.ID, d.WebhookID)
		}
		st.WaitDelivery(d.ID, "succeeded", 30*time.Second)
	}
	time.Sleep(300 * time.Millisecond)
	got := map[string]int{}
	for i := range rc.Count() {
		got[rc.Get(i).URL]++
	}
	for _, path := range hooks {
		if got[path] != 1 {
			t.Errorf("%s received %d requests, want 1 (all: %v)", path, got[path], got)
		}
	}
}
