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
	release := os.Getenv("WEBHOOKD_RECORD_HISTORY")
	if release == "" {
		t.Skip("set WEBHOOKD_RECORD_HISTORY=<release> to record testdata/<release>/limit-wait-*.json")
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.DiscardHandler),
		ServerLogLevel: slog.LevelError, SearchAttributes: runner.SearchAttributeTypes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	c, err := client.Dial(client.Options{HostPort: ts.FrontendAddr(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	// The slot frees after 105 refusals: the first run waits 100 times and
	// continues as new; the second waits 5 more, sends, and succeeds.
	var asks atomic.Int32
	w := worker.New(c, "waits", worker.Options{})
	workflows.Register(w)
	w.RegisterActivityWithOptions(func(ctx context.Context, in workflows.SendInput) (attempt.Result, error) {
		if asks.Add(1) <= 105 {
			return attempt.Result{Outcome: attempt.Limited, WaitingFor: models.WaitingForConcurrency, Wait: 10 * time.Millisecond}, nil
		}
		now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
		return attempt.Result{Outcome: attempt.Success, Attempt: &attempt.Record{Number: in.Attempt, Trigger: in.Trigger, StatusCode: 200, StartedAt: now, FinishedAt: now}}, nil
	}, activity.RegisterOptions{Name: workflows.SendActivity})
	w.RegisterActivityWithOptions(func(ctx context.Context, in workflows.RecordInput) error { return nil },
		activity.RegisterOptions{Name: workflows.RecordActivity})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	id := workflows.DeliveryWorkflowID(uuid.NewString())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "waits"}, workflows.DeliveryWorkflow,
		workflows.DeliveryInput{DeliveryID: "d1", WebhookID: "w1", EventID: "e1", EventType: "order.created", Trigger: models.TriggerScheduled})
	if err != nil {
		t.Fatal(err)
	}
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
		h, err := historytest.Save(ctx, c, id, runID, filepath.Join("testdata", release, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		// Replayed after it is saved: a replay updates the search
		// attributes of the history's start event as it goes.
		r := worker.NewWorkflowReplayer()
		workflows.Register(r)
		if err := r.ReplayWorkflowHistory(logger, h); err != nil {
			t.Fatalf("%s does not replay: %v", name, err)
		}
	}
}
