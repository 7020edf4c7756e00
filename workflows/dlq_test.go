package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// dlqHarness runs DLQReplay with a scripted page activity: pages pages in
// all, each replaying 2 entries and skipping 1 with an error.
func dlqHarness(pages int) (*testsuite.TestWorkflowEnvironment, *[]DLQPageInput) {
	env := newTestEnv()
	var calls []DLQPageInput
	env.RegisterWorkflowWithOptions(DLQReplay, workflow.RegisterOptions{Name: DLQReplayWorkflow})
	env.RegisterActivityWithOptions(func(_ context.Context, in DLQPageInput) (DLQPageResult, error) {
		calls = append(calls, in)
		res := DLQPageResult{Replayed: 2, Skipped: 1, Errors: []string{fmt.Sprintf("page %d", len(calls))}}
		if len(calls) < pages {
			res.Next = &DLQCursor{CreatedAt: time.Unix(int64(len(calls)), 0).UTC(), ID: fmt.Sprint(len(calls))}
		}
		return res, nil
	}, activity.RegisterOptions{Name: DLQReplayPageActivity})
	return env, &calls
}

var dlqInput = DLQReplayInput{Filter: DLQFilter{TenantID: "acme"}, PageSize: 25, Pause: time.Second, Progress: DLQProgress{Matched: 1000}}

// TestDLQReplayPagesAtItsPace: a short job pages through the queue with its
// pause between pages, adds up what each page did (keeping the last few
// errors), and completes with its progress.
func TestDLQReplayPagesAtItsPace(t *testing.T) {
	env, calls := dlqHarness(12)
	start := env.Now()
	env.ExecuteWorkflow(DLQReplayWorkflow, dlqInput)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v: %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var p DLQProgress
	if err := env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	if !p.Done || p.Matched != 1000 || p.Replayed != 24 || p.Skipped != 12 || len(p.Errors) != maxKeptErrors || p.Errors[9] != "page 12" {
		t.Fatalf("progress = %+v", p)
	}
	if took := env.Now().Sub(start); took != 11*time.Second {
		t.Fatalf("12 pages took %v, want 11 pauses of 1s", took)
	}
	if c := *calls; c[0].Cursor != nil || c[1].Cursor == nil || c[1].Cursor.ID != "1" || c[11].Cursor.ID != "11" || c[5].PageSize != 25 {
		t.Fatalf("cursors: first %+v, second %+v", c[0], c[1])
	}
}

// TestDLQReplayContinuesAsNew: a long job continues as new after
// pagesPerRun pages, carrying its cursor and progress, so that no run's
// history grows without bound.
func TestDLQReplayContinuesAsNew(t *testing.T) {
	env, calls := dlqHarness(pagesPerRun + 50)
	env.ExecuteWorkflow(DLQReplayWorkflow, dlqInput)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("after %d pages the run ended with %v, want continue-as-new", len(*calls), err)
	}
	if len(*calls) != pagesPerRun || can.WorkflowType.Name != DLQReplayWorkflow {
		t.Fatalf("continued as %s after %d pages", can.WorkflowType.Name, len(*calls))
	}
	var next DLQReplayInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Cursor == nil || next.Cursor.ID != fmt.Sprint(pagesPerRun) || next.Filter != dlqInput.Filter || next.PageSize != 25 ||
		next.Progress.Replayed != 2*pagesPerRun || next.Progress.Matched != 1000 || next.Progress.Done {
		t.Fatalf("next run's input = %+v (cursor %+v)", next, next.Cursor)
	}
}
