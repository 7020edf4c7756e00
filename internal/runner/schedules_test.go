package runner_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/workflows"
)

// temporalServer starts a real in-memory Temporal server and connects to it.
func temporalServer(t *testing.T) (client.Client, string) {
	t.Helper()
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	c, err := client.Dial(client.Options{HostPort: ts.FrontendAddr(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, ts.FrontendAddr()
}

// logBuffer is a logger whose output a test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// target is the task queue and workflow a schedule starts ("" if it does not exist).
func target(t *testing.T, c client.Client, id string) (queue, wf string) {
	t.Helper()
	d, err := c.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return "", ""
		}
		t.Fatalf("describe %s: %v", id, err)
	}
	a := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	return a.TaskQueue, a.Workflow.(string)
}

func createSchedule(t *testing.T, c client.Client, id, wf, queue string) {
	t.Helper()
	_, err := c.ScheduleClient().Create(context.Background(), client.ScheduleOptions{
		ID:     id,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Paused: true, // nothing needs to run here
		Action: &client.ScheduleWorkflowAction{ID: id, Workflow: wf, TaskQueue: queue},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSchedulesArePerDeployment: two deployments in one namespace (task
// queues a and b) each get their own reconcile and retention schedules,
// starting workflows on their own queue; running again changes nothing.
func TestSchedulesArePerDeployment(t *testing.T) {
	c, _ := temporalServer(t)
	ctx := context.Background()
	var logs logBuffer
	for _, q := range []string{"a", "b", "a"} {
		if err := runner.EnsureSchedules(ctx, c, q, logs.logger()); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"a", "b"} {
		ids := runner.ScheduleIDs(q)
		want := []string{workflows.ReconcileWorkflow, workflows.RetentionWorkflow}
		for i, id := range ids {
			if gotQ, gotWF := target(t, c, id); gotQ != q || gotWF != want[i] {
				t.Errorf("schedule %s starts %q on %q, want %q on %q", id, gotWF, gotQ, want[i], q)
			}
		}
	}
	if strings.Contains(logs.String(), "repaired") || strings.Count(logs.String(), "created schedule") != 4 {
		t.Errorf("a repeated run must change nothing:\n%s", logs.String())
	}
}

// TestEnsureSchedulesRepairsAnotherQueue: a deployment's schedule found
// starting its workflow on another task queue (edited by hand, say) is
// pointed back at the deployment's queue, and the log says so.
func TestEnsureSchedulesRepairsAnotherQueue(t *testing.T) {
	c, _ := temporalServer(t)
	ctx := context.Background()
	id := runner.ScheduleIDs("webhooks")[0]
	createSchedule(t, c, id, workflows.ReconcileWorkflow, "elsewhere")
	var logs logBuffer
	if err := runner.EnsureSchedules(ctx, c, "webhooks", logs.logger()); err != nil {
		t.Fatal(err)
	}
	if q, _ := target(t, c, id); q != "webhooks" {
		t.Fatalf("schedule %s still targets %q", id, q)
	}
	if !strings.Contains(logs.String(), "repaired schedule") || !strings.Contains(logs.String(), "elsewhere") {
		t.Fatalf("the repair is not reported:\n%s", logs.String())
	}
}

// TestEnsureSchedulesRemovesPreviousReleaseSchedules: the fixed-id
// schedules of the previous release are removed when they target this
// deployment's queue or a queue no worker polls, and left in place while
// another deployment's workers still poll the queue they target.
func TestEnsureSchedulesRemovesPreviousReleaseSchedules(t *testing.T) {
	c, _ := temporalServer(t)
	ctx := context.Background()
	createSchedule(t, c, workflows.ReconcileSchedule, workflows.ReconcileWorkflow, "webhooks")
	createSchedule(t, c, workflows.RetentionSchedule, workflows.RetentionWorkflow, "live")

	// Another deployment, still on the previous release, polls "live".
	w := worker.New(c, "live", worker.Options{})
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: workflows.RetentionWorkflow})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		q, err := c.DescribeTaskQueue(ctx, "live", enums.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(q.GetPollers()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker on \"live\" never showed as a poller: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var logs logBuffer
	if err := runner.EnsureSchedules(ctx, c, "webhooks", logs.logger()); err != nil {
		t.Fatal(err)
	}
	if q, _ := target(t, c, workflows.ReconcileSchedule); q != "" {
		t.Errorf("the previous release's %s (this deployment's) is still there, on %q", workflows.ReconcileSchedule, q)
	}
	if q, _ := target(t, c, workflows.RetentionSchedule); q != "live" {
		t.Errorf("the previous release's %s of the live deployment on \"live\": now %q", workflows.RetentionSchedule, q)
	}
	for _, id := range runner.ScheduleIDs("webhooks") {
		if q, _ := target(t, c, id); q != "webhooks" {
			t.Errorf("schedule %s: targets %q", id, q)
		}
	}
	if !strings.Contains(logs.String(), "removed a previous release's schedule") || !strings.Contains(logs.String(), "left a previous release's schedule in place") {
		t.Errorf("the log does not say what happened:\n%s", logs.String())
	}

	// A queue no worker polls belongs to no live deployment.
	if err := c.ScheduleClient().GetHandle(ctx, workflows.RetentionSchedule).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	createSchedule(t, c, workflows.RetentionSchedule, workflows.RetentionWorkflow, "abandoned")
	if err := runner.EnsureSchedules(ctx, c, "webhooks", logs.logger()); err != nil {
		t.Fatal(err)
	}
	if q, _ := target(t, c, workflows.RetentionSchedule); q != "" {
		t.Errorf("the previous release's %s on a queue nobody polls is still there", workflows.RetentionSchedule)
	}
}

// TestCheckNamespace: a namespace that does not exist is an error naming
// TEMPORAL_NAMESPACE; an existing one is not.
func TestCheckNamespace(t *testing.T) {
	c, _ := temporalServer(t)
	ctx := context.Background()
	if err := runner.CheckNamespace(ctx, c, "default"); err != nil {
		t.Fatalf("existing namespace: %v", err)
	}
	err := runner.CheckNamespace(ctx, c, "no-such-namespace")
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_NAMESPACE") || !strings.Contains(err.Error(), `"no-such-namespace"`) {
		t.Fatalf("missing namespace: %v", err)
	}
	if _, err := runner.WithNamespaceHealth(c, "no-such-namespace").CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
		t.Fatal("CheckHealth passes with the namespace missing")
	}
	if _, err := runner.WithNamespaceHealth(c, "default").CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("CheckHealth with the namespace there: %v", err)
	}
}

// TestCheckSearchAttributes: a namespace without webhookd's search
// attributes (Temporal Cloud, or an upgrade that skipped migrate) is refused
// with a message naming the missing ones and the command that registers
// them; once registered, the check passes.
func TestCheckSearchAttributes(t *testing.T) {
	c, _ := temporalServer(t)
	ctx := context.Background()
	err := runner.CheckSearchAttributes(ctx, c, "default")
	if err == nil {
		t.Fatal("a namespace without the search attributes passed the check")
	}
	for _, want := range append([]string{"webhookd migrate", "tcld"}, workflows.SearchAttributeNames...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not name %q: %v", want, err)
		}
	}
	if err := runner.EnsureSearchAttributes(ctx, c, "default"); err != nil {
		t.Fatal(err)
	}
	if err := runner.CheckSearchAttributes(ctx, c, "default"); err != nil {
		t.Fatalf("after registering them: %v", err)
	}
}
