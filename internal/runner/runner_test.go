package runner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/webhookd/webhookd/internal/dispatch"
)

// startOptions is what Start asked the client for.
func startOptions(t *testing.T, c *mocks.Client) client.StartWorkflowOptions {
	t.Helper()
	for _, call := range c.Calls {
		if call.Method == "ExecuteWorkflow" {
			return call.Arguments.Get(1).(client.StartWorkflowOptions)
		}
	}
	t.Fatal("no ExecuteWorkflow call")
	return client.StartWorkflowOptions{}
}

// TestStartOptionsFollowThePolicy: each policy is the reuse and conflict
// settings that give it its meaning, and a run carries its id, task queue,
// eager flag, memo, search attributes and summary to Temporal.
func TestStartOptionsFollowThePolicy(t *testing.T) {
	for _, c := range []struct {
		policy   dispatch.Policy
		reuse    enums.WorkflowIdReusePolicy
		conflict enums.WorkflowIdConflictPolicy
	}{
		{dispatch.Once, enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL},
		{dispatch.Again, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
		{dispatch.Replace, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING},
	} {
		mc := mocks.NewClient(t)
		mc.On("ExecuteWorkflow", mock.Anything, mock.Anything, "DeliverWebhook", "input").Return(nil, nil).Once()
		err := New(mc, "webhooks").Start(context.Background(), dispatch.Run{
			WorkflowID: "delivery-1", Workflow: "DeliverWebhook", Input: "input", Policy: c.policy, Eager: c.policy == dispatch.Once,
			SearchAttributes: map[string]string{"TenantId": "acme", "WebhookId": "w1"},
			Memo:             map[string]string{"tenantId": "acme"}, Summary: "order.created → orders",
			Priority: dispatch.Priority{Key: dispatch.PriorityFirst, Fairness: "acme"},
		})
		if err != nil {
			t.Fatalf("policy %d: %v", c.policy, err)
		}
		o := startOptions(t, mc)
		if o.WorkflowIDReusePolicy != c.reuse || o.WorkflowIDConflictPolicy != c.conflict {
			t.Errorf("policy %d: reuse %s, conflict %s; want %s, %s", c.policy, o.WorkflowIDReusePolicy, o.WorkflowIDConflictPolicy, c.reuse, c.conflict)
		}
		tenant, _ := o.TypedSearchAttributes.GetKeyword(temporal.NewSearchAttributeKeyKeyword("TenantId"))
		webhook, _ := o.TypedSearchAttributes.GetKeyword(temporal.NewSearchAttributeKeyKeyword("WebhookId"))
		if o.ID != "delivery-1" || o.TaskQueue != "webhooks" || o.EnableEagerStart != (c.policy == dispatch.Once) ||
			o.StaticSummary != "order.created → orders" || o.Memo["tenantId"] != "acme" || len(o.Memo) != 1 ||
			tenant != "acme" || webhook != "w1" || o.TypedSearchAttributes.Size() != 2 ||
			o.Priority != (temporal.Priority{PriorityKey: 2, FairnessKey: "acme"}) {
			t.Errorf("policy %d: options %+v", c.policy, o)
		}
	}
}

// TestStartWithoutAPolicyIsRefused: the zero Policy reaches no Temporal
// call.
func TestStartWithoutAPolicyIsRefused(t *testing.T) {
	mc := mocks.NewClient(t)
	err := New(mc, "webhooks").Start(context.Background(), dispatch.Run{WorkflowID: "w1", Workflow: "DeliverWebhook"})
	if err == nil || !strings.Contains(err.Error(), "unknown policy") {
		t.Fatalf("start without a policy: %v", err)
	}
}

// TestStartOfARunAlreadyThereSucceeds: a start the policy turns away
// (Temporal's "already started") is done, not failed; other errors are
// returned.
func TestStartOfARunAlreadyThereSucceeds(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool // the start fails
	}{
		{serviceerror.NewWorkflowExecutionAlreadyStarted("started", "req", "run"), false},
		{serviceerror.NewUnavailable("down"), true},
	} {
		mc := mocks.NewClient(t)
		mc.On("ExecuteWorkflow", mock.Anything, mock.Anything, "DeliverWebhook", mock.Anything).Return(nil, c.err)
		err := New(mc, "webhooks").Start(context.Background(), dispatch.Run{WorkflowID: "w1", Workflow: "DeliverWebhook", Input: 1, Policy: dispatch.Once})
		if (err != nil) != c.want || (c.want && !errors.Is(err, c.err)) {
			t.Errorf("start answered %v: got %v", c.err, err)
		}
	}
}

// TestNotFoundIsNoRun: every call on an existing workflow answers
// dispatch.ErrNoRun when Temporal does not know the workflow, and passes
// other errors on as they are.
func TestNotFoundIsNoRun(t *testing.T) {
	calls := map[string]func(context.Context, *Temporal) error{
		"Cancel":    func(ctx context.Context, r *Temporal) error { return r.Cancel(ctx, "w1") },
		"Terminate": func(ctx context.Context, r *Temporal) error { return r.Terminate(ctx, "w1", "why") },
		"Describe":  func(ctx context.Context, r *Temporal) error { _, err := r.Describe(ctx, "w1"); return err },
		"Query":     func(ctx context.Context, r *Temporal) error { var v any; return r.Query(ctx, "w1", "progress", &v) },
		"Result":    func(ctx context.Context, r *Temporal) error { var v any; return r.Result(ctx, "w1", &v) },
	}
	for name, call := range calls {
		for _, answer := range []error{serviceerror.NewNotFound("workflow not found"), serviceerror.NewUnavailable("down")} {
			mc := mocks.NewClient(t)
			switch name {
			case "Cancel":
				mc.On("CancelWorkflow", mock.Anything, "w1", "").Return(answer)
			case "Terminate":
				mc.On("TerminateWorkflow", mock.Anything, "w1", "", "why").Return(answer)
			case "Describe":
				mc.On("DescribeWorkflowExecution", mock.Anything, "w1", "").Return(nil, answer)
			case "Query":
				mc.On("QueryWorkflow", mock.Anything, "w1", "", "progress").Return(nil, answer)
			case "Result":
				run := mocks.NewWorkflowRun(t)
				run.On("Get", mock.Anything, mock.Anything).Return(answer)
				mc.On("GetWorkflow", mock.Anything, "w1", "").Return(run)
			}
			err := call(context.Background(), New(mc, "webhooks"))
			var nf *serviceerror.NotFound
			if errors.As(answer, &nf) {
				if !errors.Is(err, dispatch.ErrNoRun) {
					t.Errorf("%s answered not found: got %v, want ErrNoRun", name, err)
				}
			} else if errors.Is(err, dispatch.ErrNoRun) || !errors.Is(err, answer) {
				t.Errorf("%s answered %v: got %v", name, answer, err)
			}
		}
	}
}

// described is a DescribeWorkflowExecution answer.
func described(t *testing.T, status enums.WorkflowExecutionStatus, memo map[string]any) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	fields := map[string]*commonpb.Payload{}
	for k, v := range memo {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		fields[k] = p
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: status, Memo: &commonpb.Memo{Fields: fields},
	}}
}

// TestDescribeReportsStatusAndMemo: an open run (continued-as-new counts)
// is Running, a completed one Completed, any other end Failed; the memo
// reads back as the strings it was started with.
func TestDescribeReportsStatusAndMemo(t *testing.T) {
	for status, want := range map[enums.WorkflowExecutionStatus]dispatch.RunStatus{
		enums.WORKFLOW_EXECUTION_STATUS_RUNNING:          dispatch.Running,
		enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: dispatch.Running,
		enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:        dispatch.Completed,
		enums.WORKFLOW_EXECUTION_STATUS_FAILED:           dispatch.Failed,
		enums.WORKFLOW_EXECUTION_STATUS_TERMINATED:       dispatch.Failed,
		enums.WORKFLOW_EXECUTION_STATUS_CANCELED:         dispatch.Failed,
		enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        dispatch.Failed,
	} {
		mc := mocks.NewClient(t)
		mc.On("DescribeWorkflowExecution", mock.Anything, "job-1", "").
			Return(described(t, status, map[string]any{"tenantId": "acme", "webhookName": "orders"}), nil)
		d, err := New(mc, "webhooks").Describe(context.Background(), "job-1")
		if err != nil || d.Status != want || len(d.Memo) != 2 || d.Memo["tenantId"] != "acme" || d.Memo["webhookName"] != "orders" {
			t.Errorf("%s: %+v %v, want status %d and the memo", status, d, err, want)
		}
	}

	mc := mocks.NewClient(t)
	mc.On("DescribeWorkflowExecution", mock.Anything, "job-1", "").
		Return(described(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, nil), nil).Once()
	if d, err := New(mc, "webhooks").Describe(context.Background(), "job-1"); err != nil || d.Memo != nil {
		t.Errorf("no memo: %+v %v", d, err)
	}
	mc.On("DescribeWorkflowExecution", mock.Anything, "job-1", "").
		Return(described(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, map[string]any{"tenantId": 7}), nil).Once()
	if _, err := New(mc, "webhooks").Describe(context.Background(), "job-1"); err == nil {
		t.Error("a memo that is not a string was read as one")
	}
}

// TestQueryDecodesTheAnswer: a query's answer is decoded into the caller's
// value.
func TestQueryDecodesTheAnswer(t *testing.T) {
	type progress struct{ Replayed int }
	mc := mocks.NewClient(t)
	answer := mocks.NewEncodedValue(t)
	answer.On("Get", mock.Anything).Run(func(args mock.Arguments) { args.Get(0).(*progress).Replayed = 25 }).Return(nil)
	mc.On("QueryWorkflow", mock.Anything, "job-1", "", "progress").Return(answer, nil)
	var p progress
	if err := New(mc, "webhooks").Query(context.Background(), "job-1", "progress", &p); err != nil || p.Replayed != 25 {
		t.Fatalf("progress %+v %v", p, err)
	}
}

// TestListReadsEveryPage: List follows the page token to the last page and
// asks every page with the same query.
func TestListReadsEveryPage(t *testing.T) {
	const query = `TenantId = "acme"`
	page := func(token string, ids ...string) *workflowservice.ListWorkflowExecutionsResponse {
		resp := &workflowservice.ListWorkflowExecutionsResponse{NextPageToken: []byte(token)}
		for _, id := range ids {
			resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
		}
		return resp
	}
	asked := func(token string) any {
		return mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
			return r.GetQuery() == query && string(r.GetNextPageToken()) == token
		})
	}
	mc := mocks.NewClient(t)
	mc.On("ListWorkflow", mock.Anything, asked("")).Return(page("p2", "a", "b"), nil).Once()
	mc.On("ListWorkflow", mock.Anything, asked("p2")).Return(page("p3"), nil).Once() // an empty page that is not the last
	mc.On("ListWorkflow", mock.Anything, asked("p3")).Return(page("", "c"), nil).Once()
	ids, err := New(mc, "webhooks").List(context.Background(), query)
	if err != nil || !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("List = %v %v", ids, err)
	}

	down := mocks.NewClient(t)
	down.On("ListWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("down"))
	if _, err := New(down, "webhooks").List(context.Background(), query); err == nil {
		t.Fatal("a failed page was not an error")
	}
}
