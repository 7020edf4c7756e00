package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/historytest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// fastSchedule keeps seven attempts but waits 100ms instead of 1m..12h.
var fastSchedule = []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond,
	100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}

type listT struct {
	Data   []rig.DeliveryDetail `json:"data"`
	Paging struct {
		After string `json:"after"`
	} `json:"paging"`
}

// TestEndToEndDeadLetterQueueAndReplay: a delivery exhausts its retries and
// lands in the DLQ with the webhook at retryLimitReached; once the receiver is
// healthy, a replay (a new run of the same workflow id) succeeds and the
// webhook is active again.
func TestEndToEndDeadLetterQueueAndReplay(t *testing.T) {
	st := rig.NewStack(t, fastSchedule...)
	var healthy atomic.Bool
	// 500, not 503: a 503 is a receiver asking for less, which slows the
	// webhook down without using steps of the schedule (README
	// "Per-webhook limits"); this test walks the schedule to its end.
	rc := rig.NewRecorder(t, func(int) int {
		if healthy.Load() {
			return 200
		}
		return 500
	})
	hookID := st.CreateWebhook("dlq", rc.URL, "")
	ans := st.PostEvent("evt-dlq", "order.created")
	id := ans.Deliveries[0].ID

	d := st.WaitDelivery(id, "failed", 30*time.Second)
	if d.Attempts != 7 || len(d.AttemptLog) != 7 {
		t.Fatalf("dead letter = %+v", d)
	}
	w := st.Webhook(hookID)
	fd, _ := w["failureDetails"].(map[string]any)
	if w["status"] != "retryLimitReached" || fd["lastFailedStatusCode"] != float64(500) || fd["nextAttempt"] != nil {
		t.Fatalf("webhook after exhausting retries = %v", w)
	}
	for _, path := range []string{"/api/v1/dlq", "/api/v1/dlq?webhookId=" + hookID, "/api/v1/dlq?eventType=order.created",
		"/api/v1/webhooks/" + hookID + "/deliveries?status=failed"} {
		var l listT
		if code := st.Call("GET", path, nil, &l); code != 200 || len(l.Data) != 1 || l.Data[0].ID != id {
			t.Fatalf("GET %s = %d %+v", path, code, l)
		}
	}
	// The Web UI shows the dead letter's run as Failed.
	wf := workflows.DeliveryWorkflowID(id)
	waitVisible(t, st, fmt.Sprintf(`WorkflowId = %q AND ExecutionStatus = "Failed" AND DeliveryTrigger = "scheduled"`, wf), 1)
	var empty listT
	if st.Call("GET", "/api/v1/dlq?eventType=order.paid", nil, &empty); len(empty.Data) != 0 {
		t.Fatalf("eventType filter leaked: %+v", empty)
	}

	healthy.Store(true)
	var replayed rig.DeliveryDetail
	if code := st.Call("POST", "/api/v1/deliveries/"+id+"/replay", nil, &replayed); code != 202 {
		t.Fatalf("replay = %d %+v", code, replayed)
	}
	d = st.WaitDelivery(id, "succeeded", 15*time.Second)
	last := d.AttemptLog[len(d.AttemptLog)-1]
	if d.Attempts != 8 || d.Trigger != "replay" || last.Number != 8 || last.Trigger != "replay" || last.Response.StatusCode != 200 {
		t.Fatalf("after replay = %+v", d)
	}
	if w := st.Webhook(hookID); w["status"] != "active" {
		t.Fatalf("webhook after a successful replay = %v", w["status"])
	}
	// Replay is a new run of the same workflow id.
	waitVisible(t, st, fmt.Sprintf("WorkflowId = %q", wf), 2)
	waitVisible(t, st, fmt.Sprintf(`WorkflowId = %q AND ExecutionStatus = "Completed" AND DeliveryTrigger = "replay"`, wf), 1)
	var gone listT
	if st.Call("GET", "/api/v1/dlq", nil, &gone); len(gone.Data) != 0 {
		t.Fatalf("replayed delivery still in the DLQ: %+v", gone)
	}
}

func TestEndToEndReplayRefusals(t *testing.T) {
	st := rig.NewStack(t, fastSchedule...)
	rc := rig.NewRecorder(t, rig.Always(500))
	hookID := st.CreateWebhook("refused", rc.URL, "")
	id := st.PostEvent("evt-refused", "order.created").Deliveries[0].ID
	st.WaitDelivery(id, "failed", 30*time.Second)

	if code := st.Call("DELETE", "/api/v1/webhooks/"+hookID, nil, nil); code != 200 {
		t.Fatalf("delete = %d", code)
	}
	var e map[string]string
	if code := st.Call("POST", "/api/v1/deliveries/"+id+"/replay", nil, &e); code != 409 || !strings.Contains(e["message"], "deleted") {
		t.Fatalf("replay of a deleted webhook's delivery = %d %v", code, e)
	}
	if code := st.Call("POST", "/api/v1/deliveries/0190a000-0000-7000-8000-00000000dead/replay", nil, &e); code != 404 {
		t.Fatalf("replay of an unknown delivery = %d", code)
	}
}

// TestEndToEndBulkReplay: "replay all" of 500 dead letters runs as a paced
// workflow; its progress can be read while it runs and every entry is
// delivered.
func TestEndToEndBulkReplay(t *testing.T) {
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	hookID := st.CreateWebhook("bulk", rc.URL, "")
	ctx := context.Background()
	at := store.Now().Add(-time.Hour)
	const n = 500
	for i := range n {
		ev := &models.Event{ID: fmt.Sprintf("evt-bulk-%03d", i), Type: "order.created", Timestamp: at, CreatedAt: at}
		d := models.Delivery{ID: fmt.Sprintf("0190a000-0000-7000-8000-%012d", i), EventID: ev.ID, WebhookID: hookID,
			EventType: ev.Type, Status: models.DeliveryFailed, Trigger: models.TriggerScheduled, AttemptCount: 7,
			CreatedAt: at.Add(time.Duration(i) * time.Millisecond), UpdatedAt: at}
		if _, _, _, err := st.Store.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
	}
	var dry dlqJobT
	if code := st.Call("POST", "/api/v1/dlq/replay", map[string]any{"webhookId": hookID, "dryRun": true}, &dry); code != 200 || dry.Matched != n || dry.Replayed != 0 {
		t.Fatalf("dry run = %d %+v", code, dry)
	}
	if rc.Count() != 0 {
		t.Fatal("a dry run sent requests")
	}
	var job dlqJobT
	if code := st.Call("POST", "/api/v1/dlq/replay", map[string]any{"webhookId": hookID}, &job); code != 202 || job.JobID == "" || job.Matched != n {
		t.Fatalf("replay all = %d %+v", code, job)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var p dlqJobT
		if code := st.Call("GET", "/api/v1/dlq/replay/"+job.JobID, nil, &p); code != 200 {
			t.Fatalf("job progress = %d", code)
		}
		if p.Status == "completed" {
			if p.Replayed != n || p.Skipped != 0 {
				t.Fatalf("job = %+v", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %+v after 90s", p)
		}
		time.Sleep(250 * time.Millisecond)
	}
	rc.WaitHits(t, n, 90*time.Second)
	deadline = time.Now().Add(60 * time.Second)
	for {
		left, err := st.Store.CountDeliveries(ctx, store.DeliveryQuery{WebhookID: hookID, Status: models.DeliveryFailed})
		if err != nil {
			t.Fatal(err)
		}
		done, _ := st.Store.CountDeliveries(ctx, store.DeliveryQuery{WebhookID: hookID, Status: models.DeliverySucceeded})
		if left == 0 && done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d still failed, %d succeeded", left, done)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type dlqJobT struct {
	JobID    string `json:"jobId"`
	Status   string `json:"status"`
	Matched  int    `json:"matched"`
	Replayed int    `json:"replayed"`
	Skipped  int    `json:"skipped"`
}

// TestEndToEndTestButton: a test sends an isTest event at once, answers with
// the attempt, shows in the delivery log, and never changes webhook status.
func TestEndToEndTestButton(t *testing.T) {
	st := rig.NewStack(t)
	var code atomic.Int32
	code.Store(200)
	rc := rig.NewRecorder(t, func(int) int { return int(code.Load()) })
	hookID := st.CreateWebhook("tested", rc.URL, rig.Secret)

	var ans struct {
		Delivery rig.DeliveryDetail `json:"delivery"`
		Attempt  struct {
			Trigger  string `json:"trigger"`
			Response struct {
				StatusCode int `json:"statusCode"`
			} `json:"response"`
			DurationMs *int64 `json:"durationMs"`
		} `json:"attempt"`
	}
	if c := st.Call("POST", "/api/v1/webhooks/"+hookID+"/test", nil, &ans); c != 200 {
		t.Fatalf("test = %d %+v", c, ans)
	}
	if ans.Attempt.Response.StatusCode != 200 || ans.Attempt.Trigger != "test" || ans.Delivery.Status != "succeeded" || ans.Attempt.DurationMs == nil {
		t.Fatalf("test answer = %+v", ans)
	}
	var body map[string]any
	if err := json.Unmarshal(rc.Get(0).Body, &body); err != nil || body["isTest"] != true || body["event"] != "order.*" && body["event"] == "" {
		t.Fatalf("test body = %s", rc.Get(0).Body)
	}

	code.Store(500)
	if c := st.Call("POST", "/api/v1/webhooks/"+hookID+"/test", nil, &ans); c != 200 || ans.Attempt.Response.StatusCode != 500 || ans.Delivery.Status != "failed" {
		t.Fatalf("failing test = %d %+v", c, ans)
	}
	if w := st.Webhook(hookID); w["status"] != "active" || w["failureDetails"] != nil {
		t.Fatalf("a test changed the webhook: %v", w)
	}
	var log listT
	st.Call("GET", "/api/v1/webhooks/"+hookID+"/deliveries", nil, &log)
	if len(log.Data) != 2 || log.Data[0].Trigger != "test" {
		t.Fatalf("delivery log = %+v", log)
	}
	// A failed test is in the webhook's log, not in the dead-letter queue.
	var dlq listT
	if st.Call("GET", "/api/v1/dlq?webhookId="+hookID, nil, &dlq); len(dlq.Data) != 0 {
		t.Fatalf("a test delivery landed in the DLQ: %+v", dlq)
	}
	// Both test runs complete, a failed one too (it is no dead letter), and
	// the Web UI tells them from deliveries.
	waitVisible(t, st, fmt.Sprintf(`WebhookId = %q AND DeliveryTrigger = "test" AND ExecutionStatus = "Completed"`, hookID), 2)
	// Test deliveries are not dead letters to replay.
	if c := st.Call("POST", "/api/v1/deliveries/"+ans.Delivery.ID+"/replay", nil, nil); c != 409 {
		t.Fatalf("replay of a test delivery = %d", c)
	}
}

// TestRecordDeliveryHistory writes the history the workflow replay test
// checks determinism against. Run with WEBHOOKD_RECORD_HISTORY=1 after a
// deliberate change to the workflow's commands.
func TestRecordDeliveryHistory(t *testing.T) {
	if os.Getenv("WEBHOOKD_RECORD_HISTORY") == "" {
		t.Skip("set WEBHOOKD_RECORD_HISTORY=1 to re-record workflows/testdata/release1/429-then-success.json")
	}
	st := rig.NewStack(t, 200*time.Millisecond, 200*time.Millisecond)
	rc := rig.NewRecorder(t, func(n int) int {
		if n == 1 {
			return 429
		}
		return 200
	})
	st.CreateWebhook("recorded", rc.URL, rig.Secret)
	id := st.PostEvent("evt-recorded", "order.created").Deliveries[0].ID
	st.WaitDelivery(id, "succeeded", 15*time.Second)
	if _, err := historytest.Save(context.Background(), st.Client, workflows.DeliveryWorkflowID(id), "",
		"../workflows/testdata/release1/429-then-success.json"); err != nil {
		t.Fatal(err)
	}
}
