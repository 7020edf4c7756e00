// Package runner is webhookd's side of the Temporal client: it dials the
// cluster (with the SDK's metrics in the process's Prometheus registry),
// prepares the namespace (search attributes, maintenance schedules), and
// implements dispatch.Runner, through which everything but the worker
// starts, cancels, ends and inspects workflows. Besides the workflows, the
// activities, the worker wiring (internal/app) and the embedded dev server,
// it is the only code of the service that imports the Temporal SDK (tests
// and the tools under scripts/ aside).
package runner

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/webhookd/webhookd/internal/dispatch"
)

// Temporal runs webhookd's workflows on a Temporal client.
type Temporal struct {
	c         client.Client
	taskQueue string
}

var _ dispatch.Runner = (*Temporal)(nil)

// New returns a Runner that starts workflows on taskQueue through c.
func New(c client.Client, taskQueue string) *Temporal {
	return &Temporal{c: c, taskQueue: taskQueue}
}

// CheckHealth reports whether the Temporal frontend answers (readiness).
func (t *Temporal) CheckHealth(ctx context.Context) error {
	_, err := t.c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// Start starts r; a run that r.Policy finds already there is not an error.
func (t *Temporal) Start(ctx context.Context, r dispatch.Run) error {
	opts := client.StartWorkflowOptions{
		ID: r.WorkflowID, TaskQueue: t.taskQueue, EnableEagerStart: r.Eager, StaticSummary: r.Summary,
		Priority: temporal.Priority{PriorityKey: r.Priority.Key, FairnessKey: r.Priority.Fairness},
	}
	if len(r.Memo) > 0 {
		opts.Memo = make(map[string]any, len(r.Memo))
		for k, v := range r.Memo {
			opts.Memo[k] = v
		}
	}
	switch r.Policy {
	case dispatch.Once:
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	case dispatch.Again:
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	case dispatch.Replace:
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	default:
		return fmt.Errorf("start %s: unknown policy %d", r.WorkflowID, r.Policy)
	}
	if len(r.SearchAttributes) > 0 {
		attrs := make([]temporal.SearchAttributeUpdate, 0, len(r.SearchAttributes))
		for name, v := range r.SearchAttributes {
			attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(v))
		}
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(attrs...)
	}
	_, err := t.c.ExecuteWorkflow(ctx, opts, r.Workflow, r.Input)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil // started before: nothing to do
	}
	return err
}

// Cancel asks the open run of a workflow to cancel.
func (t *Temporal) Cancel(ctx context.Context, workflowID string) error {
	return noRun(t.c.CancelWorkflow(ctx, workflowID, ""))
}

// Terminate ends the open run of a workflow.
func (t *Temporal) Terminate(ctx context.Context, workflowID, reason string) error {
	return noRun(t.c.TerminateWorkflow(ctx, workflowID, "", reason))
}

// Signal sends the open run of a workflow a signal with no argument.
func (t *Temporal) Signal(ctx context.Context, workflowID, signal string) error {
	return noRun(t.c.SignalWorkflow(ctx, workflowID, "", signal, nil))
}

// Describe reports a workflow's latest run: its status and its memo.
func (t *Temporal) Describe(ctx context.Context, workflowID string) (dispatch.Description, error) {
	desc, err := t.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return dispatch.Description{}, noRun(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	out := dispatch.Description{Status: runStatus(info.GetStatus())}
	if fields := info.GetMemo().GetFields(); len(fields) > 0 {
		out.Memo = make(map[string]string, len(fields))
		for key, p := range fields {
			var v string
			if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
				return dispatch.Description{}, fmt.Errorf("memo %s: %w", key, err)
			}
			out.Memo[key] = v
		}
	}
	return out, nil
}

// runStatus is what a Temporal execution status means to dispatch.
func runStatus(s enums.WorkflowExecutionStatus) dispatch.RunStatus {
	switch s {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING, enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return dispatch.Running
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return dispatch.Completed
	}
	return dispatch.Failed
}

// Query asks a workflow's latest run a query and decodes the answer.
func (t *Temporal) Query(ctx context.Context, workflowID, query string, v any) error {
	answer, err := t.c.QueryWorkflow(ctx, workflowID, "", query)
	if err != nil {
		return noRun(err)
	}
	return answer.Get(v)
}

// List returns the ids of the workflows a visibility query selects, every
// page of them.
func (t *Temporal) List(ctx context.Context, query string) ([]string, error) {
	var ids []string
	var token []byte
	for {
		resp, err := t.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return ids, nil
		}
	}
}

// Result waits for the latest run of a workflow and decodes its result.
func (t *Temporal) Result(ctx context.Context, workflowID string, v any) error {
	return noRun(t.c.GetWorkflow(ctx, workflowID, "").Get(ctx, v))
}

// noRun maps Temporal's "not found" to dispatch.ErrNoRun.
func noRun(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %v", dispatch.ErrNoRun, err)
	}
	return err
}
