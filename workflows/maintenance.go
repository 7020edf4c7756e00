package workflows

import (
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

// Reconcile starts the workflows of deliveries that were stored but never
// started (see dispatch.Reconcile).
func Reconcile(ctx workflow.Context) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var n int
	err := workflow.ExecuteActivity(ctx, ReconcileActivity, ReconcileAfter).Get(ctx, &n)
	return n, err
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
