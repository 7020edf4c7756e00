package workflows_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/historytest"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestLongLimitWaitReplays records the histories of a delivery that waits
// long enough for a concurrency slot to continue as new, on a real Temporal
// server, replays both runs' histories and saves them to
// testdata/<release>/, where TestReplayRecordedHistories keeps replaying
// them (testdata/release3/limit-wait-*.json). It runs only to record: an
// in-process server beside this package's time-skipping tests starves
// them on a busy machine.
// WEBHOOKD_RECORD_HISTORY=<release> go test -run TestLongLimitWaitReplays ./workflows/
func TestLongLimitWaitReplays(t *testing.T) {
	release, c := recordingServer(t, "limit-wait-*.json")

	// The slot frees after 105 refusals: the first run waits 100 times and
	// continues as new; the second waits 5 more, sends, and succeeds.
	var asks atomic.Int32
	startRecordingWorker(t, c, "waits", func(in workflows.SendInput) attempt.Result {
		if asks.Add(1) <= 105 {
			return attempt.Result{Outcome: attempt.Limited, WaitingFor: models.WaitingForConcurrency, Wait: 10 * time.Millisecond}
		}
		return succeeded(in, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	})

	id := workflows.DeliveryWorkflowID(uuid.NewString())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := startDelivery(ctx, t, c, id, "waits")
	first := run.GetRunID() // Get follows the chain to its last run
	var res workflows.DeliveryResult
	if err := run.Get(ctx, &res); err != nil || res.Status != models.DeliverySucceeded || res.Attempts != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	last, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	second := last.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	if second == first {
		t.Fatal("the run did not continue as new")
	}
	for name, runID := range map[string]string{"limit-wait-continued": first, "limit-wait-continuation": second} {
		saveAndReplay(ctx, t, c, id, runID, filepath.Join("testdata", release, name+".json"))
	}
}

// TestWokenLimitWaitReplays records the history of a delivery woken twice
// while it waits for a concurrency slot (workflows.LimitsChangedSignal): the
// first wake-up sent while its first send is being refused, the second
// 300 ms into the wait after its second; each wait's timer is cancelled
// and it asks again, no minute's wait. It replays it and
// saves it as testdata/<release>/limit-wait-woken.json. It runs only to
// record, as TestLongLimitWaitReplays does.
// WEBHOOKD_RECORD_HISTORY=<release> go test -run TestWokenLimitWaitReplays ./workflows/
func TestWokenLimitWaitReplays(t *testing.T) {
	release, c := recordingServer(t, "limit-wait-woken.json")
	id := workflows.DeliveryWorkflowID(uuid.NewString())
	wake := func() {
		if err := c.SignalWorkflow(context.Background(), id, "", workflows.LimitsChangedSignal, nil); err != nil {
			t.Error(err)
		}
	}
	// Ask 1: woken while it is refused. Ask 2: refused for a minute, and
	// woken 300 ms into the wait. Ask 3: sent.
	var asks atomic.Int32
	startRecordingWorker(t, c, "woken", func(in workflows.SendInput) attempt.Result {
		switch asks.Add(1) {
		case 1:
			wake()
		case 2:
			time.AfterFunc(300*time.Millisecond, wake)
		default:
			return succeeded(in, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		}
		return attempt.Result{Outcome: attempt.Limited, WaitingFor: models.WaitingForConcurrency, Wait: time.Minute}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := startDelivery(ctx, t, c, id, "woken")
	var res workflows.DeliveryResult
	if err := run.Get(ctx, &res); err != nil || res.Status != models.DeliverySucceeded || asks.Load() != 3 {
		t.Fatalf("%+v %v after %d asks, want succeeded after 3 (two wake-ups, no minute's wait)", res, err, asks.Load())
	}
	saveAndReplay(ctx, t, c, id, run.GetRunID(), filepath.Join("testdata", release, "limit-wait-woken.json"))
}

// recordingServer starts a Temporal dev server and a client of it for a
// recording test, or skips the test unless WEBHOOKD_RECORD_HISTORY names
// the release to record (files: what it records, for the skip message).
func recordingServer(t *testing.T, files string) (release string, c client.Client) {
	t.Helper()
	release = os.Getenv("WEBHOOKD_RECORD_HISTORY")
	if release == "" {
		t.Skip("set WEBHOOKD_RECORD_HISTORY=<release> to record testdata/<release>/" + files)
	}
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.DiscardHandler),
		ServerLogLevel: slog.LevelError, SearchAttributes: runner.SearchAttributeTypes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	c, err = client.Dial(client.Options{HostPort: ts.FrontendAddr(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return release, c
}

// startRecordingWorker runs the workflows on queue with send as the send
// activity and a record activity that records nothing.
func startRecordingWorker(t *testing.T, c client.Client, queue string, send func(workflows.SendInput) attempt.Result) {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivityWithOptions(func(ctx context.Context, in workflows.SendInput) (attempt.Result, error) { return send(in), nil },
		activity.RegisterOptions{Name: workflows.SendActivity})
	w.RegisterActivityWithOptions(func(ctx context.Context, in workflows.RecordInput) error { return nil },
		activity.RegisterOptions{Name: workflows.RecordActivity})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// startDelivery starts a delivery workflow with id on queue.
func startDelivery(ctx context.Context, t *testing.T, c client.Client, id, queue string) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.DeliveryWorkflow,
		workflows.DeliveryInput{DeliveryID: "d1", WebhookID: "w1", EventID: "e1", EventType: "order.created", Trigger: models.TriggerScheduled})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// succeeded is a send's result for an attempt answered 200 at now.
func succeeded(in workflows.SendInput, now time.Time) attempt.Result {
	return attempt.Result{Outcome: attempt.Success, Attempt: &attempt.Record{Number: in.Attempt, Trigger: in.Trigger,
		StatusCode: 200, StartedAt: now, FinishedAt: now}}
}

// saveAndReplay saves a run's history to path and replays it.
func saveAndReplay(ctx context.Context, t *testing.T, c client.Client, workflowID, runID, path string) {
	t.Helper()
	h, err := historytest.Save(ctx, c, workflowID, runID, path)
	if err != nil {
		t.Fatal(err)
	}
	// Replayed after it is saved: a replay updates the search attributes
	// of the history's start event as it goes.
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	if err := r.ReplayWorkflowHistory(quietLogger(), h); err != nil {
		t.Fatalf("%s does not replay: %v", path, err)
	}
}

func quietLogger() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
