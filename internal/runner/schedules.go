package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/webhookd/webhookd/workflows"
)

// A deployment is one task queue: its workers, and its database, which the
// maintenance workflows work on. Each deployment therefore has its own
// schedules, whose ids end with the task queue, so that two deployments in
// one namespace (or one whose TEMPORAL_TASK_QUEUE changed) each get theirs.

// schedule is one maintenance schedule of a deployment.
type schedule struct {
	id, workflow string
	every        time.Duration
}

// ScheduleIDs are the ids of the maintenance schedules of the deployment on
// taskQueue (Web UI: Schedules): reconcile, then retention.
func ScheduleIDs(taskQueue string) []string {
	var ids []string
	for _, s := range schedules(taskQueue) {
		ids = append(ids, s.id)
	}
	return ids
}

func schedules(taskQueue string) []schedule {
	return []schedule{
		{workflows.ReconcileSchedule + "-" + taskQueue, workflows.ReconcileWorkflow, time.Minute},
		{workflows.RetentionSchedule + "-" + taskQueue, workflows.RetentionWorkflow, time.Hour},
	}
}

// legacyScheduleIDs are the fixed ids the first two releases used for every
// deployment of a namespace, in the order of schedules().
var legacyScheduleIDs = []string{workflows.ReconcileSchedule, workflows.RetentionSchedule}

// EnsureSchedules creates the maintenance schedules of the deployment on
// taskQueue if they do not exist, repairs one that starts another workflow
// or targets another task queue, and removes the fixed-id schedules of a
// previous release that this deployment owned. What it changes, it logs.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string, log *slog.Logger) error {
	for _, s := range schedules(taskQueue) {
		if err := ensureSchedule(ctx, c, s, taskQueue, log); err != nil {
			return err
		}
	}
	for i, id := range legacyScheduleIDs {
		if err := removeLegacySchedule(ctx, c, id, schedules(taskQueue)[i].id, taskQueue, log); err != nil {
			return err
		}
	}
	return nil
}

func ensureSchedule(ctx context.Context, c client.Client, s schedule, taskQueue string, log *slog.Logger) error {
	want := &client.ScheduleWorkflowAction{
		ID:        s.id, // the schedule appends the start time
		Workflow:  s.workflow,
		TaskQueue: taskQueue,
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.every}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: s.id, Spec: spec, Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP, Action: want,
	})
	if err == nil {
		log.Info("created schedule", "schedule", s.id, "task_queue", taskQueue)
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", s.id, err)
	}
	// It exists: make sure it starts the right workflow on this queue
	// every s.every (someone may have edited it in the Web UI or CLI).
	var was string
	err = c.ScheduleClient().GetHandle(ctx, s.id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			have, _ := sched.Action.(*client.ScheduleWorkflowAction)
			if have != nil && have.TaskQueue == taskQueue && workflowName(have.Workflow) == s.workflow &&
				sched.Spec != nil && slices.Equal(sched.Spec.Intervals, spec.Intervals) {
				return nil, temporal.ErrSkipScheduleUpdate
			}
			was = describeAction(have)
			sched.Action, sched.Spec = want, &spec
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", s.id, err)
	}
	if was != "" {
		log.Warn("repaired schedule: it "+was+"; it now starts "+s.workflow+" on this deployment's task queue every "+s.every.String(),
			"schedule", s.id, "task_queue", taskQueue)
	}
	return nil
}

// removeLegacySchedule deletes a previous release's fixed-id schedule when it
// belonged to this deployment (it targets this task queue) or to none (no
// worker polls the queue it targets). A schedule that another live
// deployment still uses is left to that deployment's own upgrade.
func removeLegacySchedule(ctx context.Context, c client.Client, id, replacement, taskQueue string, log *slog.Logger) error {
	h := c.ScheduleClient().GetHandle(ctx, id)
	d, err := h.Describe(ctx)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe schedule %s: %w", id, err)
	}
	target := ""
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		target = a.TaskQueue
	}
	if target != taskQueue && target != "" {
		q, err := c.DescribeTaskQueue(ctx, target, enums.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return fmt.Errorf("describe task queue %s (target of schedule %s): %w", target, id, err)
		}
		if len(q.GetPollers()) > 0 {
			log.Warn("left a previous release's schedule in place: workers on its task queue still use it; upgrading that deployment removes it",
				"schedule", id, "its_task_queue", target, "task_queue", taskQueue)
			return nil
		}
	}
	if err := h.Delete(ctx); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	log.Info("removed a previous release's schedule; the deployment's own replaces it",
		"schedule", id, "its_task_queue", target, "replaced_by", replacement)
	return nil
}

func describeAction(a *client.ScheduleWorkflowAction) string {
	if a == nil {
		return "started no workflow"
	}
	return fmt.Sprintf("started %s on task queue %q", workflowName(a.Workflow), a.TaskQueue)
}

// workflowName is the type name of a described schedule's workflow.
func workflowName(w any) string {
	if s, ok := w.(string); ok {
		return s
	}
	return fmt.Sprint(w)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
