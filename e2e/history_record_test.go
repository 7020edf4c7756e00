package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/historytest"
	"github.com/webhookd/webhookd/workflows"
)

// TestRecordReleaseHistories records the histories that workflows/replay_test.go
// replays, one per path a delivery can take, so that a later change to the
// workflows that breaks runs already in flight fails there. Each release keeps
// the set it recorded (workflows/testdata/<release>/); run it again only for a
// new release's set: WEBHOOKD_RECORD_HISTORY=<release> go test -run TestRecordReleaseHistories ./e2e/
func TestRecordReleaseHistories(t *testing.T) {
	release := os.Getenv("WEBHOOKD_RECORD_HISTORY")
	if release == "" {
		t.Skip("set WEBHOOKD_RECORD_HISTORY=<release> to record workflows/testdata/<release>/*.json")
	}
	dir := filepath.Join("..", "workflows", "testdata", release)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st := rig.NewStack(t)
	save := func(name, workflowID, runID string) {
		t.Helper()
		if _, err := historytest.Save(context.Background(), st.Client, workflowID, runID, filepath.Join(dir, name+".json")); err != nil {
			t.Fatal(err)
		}
	}
	// reached waits until a run's history holds an event of type want.
	reached := func(workflowID, runID string, want enums.EventType) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			iter := st.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, 0)
			for iter.HasNext() {
				ev, err := iter.Next()
				if err != nil {
					t.Fatal(err)
				}
				if ev.GetEventType() == want {
					return
				}
			}
		}
		t.Fatalf("%s never reached %v", workflowID, want)
	}
	runOf := func(id string) string {
		t.Helper()
		desc, err := st.Client.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(id), "")
		if err != nil {
			t.Fatal(err)
		}
		return desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	// Each webhook takes only its own event type, so each event makes one
	// delivery.
	hookWith := func(name string, answer func(int) int, extra map[string]any) string {
		rc := rig.NewRecorder(t, answer)
		cfg := map[string]any{"endpoint": rc.URL, "secretKey": rig.Secret, "timeout": 5, "retrySchedule": []string{"10s", "10s"}}
		body := map[string]any{"name": name, "webhookType": "Generic",
			"eventFilters": []any{map[string]any{"eventType": "rec." + name}}, "webhookConfig": cfg}
		for k, v := range extra {
			if k == "batching" || k == "retrySchedule" {
				cfg[k] = v
			} else {
				body[k] = v
			}
		}
		var out map[string]any
		if code := st.Call("POST", "/api/v1/webhooks", body, &out); code != 201 {
			t.Fatalf("create webhook %s: %d %v", name, code, out)
		}
		return out["id"].(string)
	}
	hook := func(name string, answer func(int) int) string { return hookWith(name, answer, nil) }
	event := func(name string) string {
		ans := st.PostEvent("evt-"+name+"-"+uuid.NewString(), "rec."+name)
		if len(ans.Deliveries) != 1 {
			t.Fatalf("event for %s: %+v", name, ans)
		}
		return ans.Deliveries[0].ID
	}

	// A failure, a durable timer, then success.
	hook("fail-then-succeed", func(n int) int { return map[bool]int{true: 500, false: 200}[n == 1] })
	id := event("fail-then-succeed")
	st.WaitDelivery(id, "succeeded", 60*time.Second)
	save("fail-then-succeed", workflows.DeliveryWorkflowID(id), "")

	// Retries exhausted: the dead-letter queue; then a replay (a new run).
	hook("dead-letter", rig.Always(500))
	dead := event("dead-letter")
	st.WaitDelivery(dead, "failed", 60*time.Second)
	// The row is written before the run ends: wait for its end (Failed,
	// DeadLetter), so the history holds the dead-letter-fails-run marker.
	var app *temporal.ApplicationError
	if err := st.Client.GetWorkflow(context.Background(), workflows.DeliveryWorkflowID(dead), runOf(dead)).Get(context.Background(), nil); !errors.As(err, &app) || app.Type() != workflows.DeadLetter {
		t.Fatalf("the dead letter's run ended with %v, want a %s failure", err, workflows.DeadLetter)
	}
	save("dead-letter", workflows.DeliveryWorkflowID(dead), runOf(dead))
	if code := st.Call("POST", "/api/v1/deliveries/"+dead+"/replay", nil, nil); code != 202 {
		t.Fatalf("replay: %d", code)
	}
	st.WaitDelivery(dead, "failed", 60*time.Second)
	time.Sleep(time.Second)
	save("replay", workflows.DeliveryWorkflowID(dead), runOf(dead))

	// 410 Gone.
	hook("gone", rig.Always(410))
	gone := event("gone")
	st.WaitDelivery(gone, "failed", 60*time.Second)
	save("gone", workflows.DeliveryWorkflowID(gone), "")

	// Held at its retry while the webhook is paused, then resumed (a new run
	// that continues the schedule).
	heldHook := hook("held", func(n int) int { return map[bool]int{true: 500, false: 200}[n == 1] })
	held := event("held")
	st.WaitDelivery(held, "awaitingRetry", 60*time.Second)
	st.Call("POST", "/api/v1/webhooks/"+heldHook+"/pause", nil, nil)
	st.WaitDelivery(held, "held", 60*time.Second)
	save("held", workflows.DeliveryWorkflowID(held), runOf(held))
	st.Call("POST", "/api/v1/webhooks/"+heldHook+"/resume", nil, nil)
	st.WaitDelivery(held, "succeeded", 60*time.Second)
	save("resumed", workflows.DeliveryWorkflowID(held), runOf(held))

	// Cancelled: the webhook is disabled while a retry waits.
	hourly := map[string]any{"retrySchedule": []string{"1h"}}
	cancelHook := hookWith("cancelled", rig.Always(500), hourly)
	cancelled := event("cancelled")
	st.WaitDelivery(cancelled, "awaitingRetry", 60*time.Second)
	doc := st.Webhook(cancelHook)
	doc["enabled"] = false
	if code := st.Call("PUT", "/api/v1/webhooks/"+cancelHook, doc, nil); code != 200 {
		t.Fatalf("disable: %d", code)
	}
	st.WaitDelivery(cancelled, "cancelled", 60*time.Second)
	time.Sleep(time.Second)
	save("cancelled", workflows.DeliveryWorkflowID(cancelled), "")

	// Still open: a retry waits on its timer (a run the next release's
	// worker must continue).
	hookWith("waiting", rig.Always(500), hourly)
	waiting := event("waiting")
	st.WaitDelivery(waiting, "awaitingRetry", 60*time.Second)
	time.Sleep(time.Second)
	save("waiting-on-retry", workflows.DeliveryWorkflowID(waiting), "")

	// A batch that fails once, then succeeds.
	hookWith("batched", func(n int) int { return map[bool]int{true: 503, false: 200}[n == 1] },
		map[string]any{"batchSize": 3, "batching": map[string]any{"enabled": true, "maxWaitMs": 300}})
	batch := event("batched")
	event("batched")
	st.WaitDelivery(batch, "succeeded", 60*time.Second)
	save("batch", workflows.DeliveryWorkflowID(batch), "")

	// The test button.
	testHook := hook("tested", rig.Always(200))
	var tested struct {
		Delivery struct {
			ID string `json:"id"`
		} `json:"delivery"`
	}
	if code := st.Call("POST", "/api/v1/webhooks/"+testHook+"/test", nil, &tested); code != 200 {
		t.Fatalf("test: %d", code)
	}
	save("test", workflows.DeliveryWorkflowID(tested.Delivery.ID), "")

	// A bulk replay of the dead-letter queue.
	var job struct {
		JobID string `json:"jobId"`
	}
	if code := st.Call("POST", "/api/v1/dlq/replay", map[string]any{}, &job); code != 202 {
		t.Fatalf("dlq replay: %d", code)
	}
	wf := workflows.DLQJobWorkflowID(job.JobID)
	if err := st.Client.GetWorkflow(context.Background(), wf, "").Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	save("dlq-replay", wf, "")

	// The maintenance workflows, as their schedules run them. A reconcile
	// run makes ReconcilePasses passes a minute apart, an hour in all: it is
	// recorded once its first pass is done and it waits on the next, then
	// ended (the rest of the hour repeats the same commands).
	for name, wfType := range map[string]string{"reconcile": workflows.ReconcileWorkflow, "retention": workflows.RetentionWorkflow} {
		run, err := st.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: "record-" + name + "-" + uuid.NewString(), TaskQueue: st.Config.TaskQueue,
		}, wfType)
		if err != nil {
			t.Fatal(err)
		}
		if wfType == workflows.ReconcileWorkflow {
			reached(run.GetID(), run.GetRunID(), enums.EVENT_TYPE_TIMER_STARTED)
			if err := st.Client.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "recorded: the rest of the hour repeats the same passes"); err != nil {
				t.Fatal(err)
			}
		} else if err := run.Get(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		save(name, run.GetID(), run.GetRunID())
	}
}
