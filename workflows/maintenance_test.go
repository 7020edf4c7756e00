package workflows

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"
)

// TestReconcileRunsItsActivity: the reconcile workflow asks, once a
// minute for an hour, for the deliveries pending longer than ReconcileAfter
// and answers how many it looked at.
func TestReconcileRunsItsActivity(t *testing.T) {
	env := newTestEnv()
	env.RegisterWorkflowWithOptions(Reconcile, workflow.RegisterOptions{Name: ReconcileWorkflow})
	var asked time.Duration
	env.RegisterActivityWithOptions(func(_ context.Context, olderThan time.Duration) (int, error) {
		asked = olderThan
		return 7, nil
	}, activity.RegisterOptions{Name: ReconcileActivity})
	began := env.Now()
	env.ExecuteWorkflow(ReconcileWorkflow)
	var n int
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := env.GetWorkflowResult(&n); err != nil || n != 7*ReconcilePasses || asked != ReconcileAfter {
		t.Fatalf("result %d (%v), activity asked for %v", n, err, asked)
	}
	// One run an hour in the Web UI's list, a pass a minute within it.
	if took := env.Now().Sub(began); took != (ReconcilePasses-1)*ReconcileEvery {
		t.Fatalf("the run took %v, want %v", took, (ReconcilePasses-1)*ReconcileEvery)
	}
}

// TestRetentionRunsItsActivity: the retention workflow answers what its
// activity removed.
func TestRetentionRunsItsActivity(t *testing.T) {
	env := newTestEnv()
	env.RegisterWorkflowWithOptions(Retention, workflow.RegisterOptions{Name: RetentionWorkflow})
	want := RetentionResult{Events: 3, Deliveries: 5, Attempts: 9, StatBuckets: 2}
	env.RegisterActivityWithOptions(func(context.Context) (RetentionResult, error) { return want, nil },
		activity.RegisterOptions{Name: RetentionActivity})
	env.ExecuteWorkflow(RetentionWorkflow)
	var got RetentionResult
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := env.GetWorkflowResult(&got); err != nil || got != want {
		t.Fatalf("result %+v (%v), want %+v", got, err, want)
	}
}
