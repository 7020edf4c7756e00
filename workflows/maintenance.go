package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Maintenance workflows run from Temporal Schedules (visible under Schedules
// in the Web UI), so exactly one runs at a time however many workers there are.
const (
	ReconcileWorkflow = "ReconcileDeliveries"
	ReconcileActivity = "StartMissingDeliveryWorkflows"
	ReconcileSchedule = "webhookd-reconcile"

	RetentionWorkflow = "PurgeExpiredDeliveryLogs"
	RetentionActivity = "DeleteExpiredDeliveryLogs"
	RetentionSchedule = "webhookd-retention"
)

// ReconcileAfter is how long a delivery may stay pending before the
// reconciler suspects its workflow never started.
const ReconcileAfter = 30 * time.Second

// ReconcilePasses is how many reconcile passes one run makes, ReconcileEvery
// apart. The schedule fires every minute but skips while a run is open, so
// the Web UI lists one reconcile run an hour instead of sixty. A run stays
// open that long, so a worker of the next release replays it: changing
// either value or the loop needs a GetVersion change of its own.
const (
	ReconcilePasses = 60
	ReconcileEvery  = time.Minute
)

// reconcileLoops is the change that made one run make many passes; runs
// recorded before it made one.
const reconcileLoops = "reconcile-passes-per-run"

// Reconcile starts the workflows of deliveries that were stored but never
// started (see dispatch.Reconcile), once a minute for an hour, and answers
// how many it looked at in all.
func Reconcile(ctx workflow.Context) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	passes := ReconcilePasses
	if workflow.GetVersion(ctx, reconcileLoops, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		passes = 1
	}
	total := 0
	for i := range passes {
		if i > 0 {
			if err := workflow.NewTimerWithOptions(ctx, ReconcileEvery, workflow.TimerOptions{
				Summary: fmt.Sprintf("reconcile pass %d of %d", i+1, passes),
			}).Get(ctx, nil); err != nil {
				return total, err
			}
		}
		var n int
		if err := workflow.ExecuteActivity(ctx, ReconcileActivity, ReconcileAfter).Get(ctx, &n); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// RetentionResult counts what a retention pass removed.
type RetentionResult struct {
	Events      int64
	Deliveries  int64
	Attempts    int64
	StatBuckets int64 `json:",omitempty"`
}

// Retention removes delivery logs older than RETENTION_DAYS.
func Retention(ctx workflow.Context) (RetentionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var res RetentionResult
	err := workflow.ExecuteActivity(ctx, RetentionActivity).Get(ctx, &res)
	return res, err
}
