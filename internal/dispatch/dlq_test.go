package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// TestDLQReplayJob: a job starts with its filter and the tenant that may
// follow it, and its state reads back from the run: progress while it
// runs, the result once completed.
func TestDLQReplayJob(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	fake := dispatchtest.New()
	d, _ := newDispatcher(s, fake)
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	id, err := d.StartDLQReplay(ctx, dispatch.DLQFilter{TenantID: "acme", EventType: "order.created", Since: since}, 40, dispatch.DLQPace{})
	if err != nil {
		t.Fatal(err)
	}
	starts := fake.Starts()
	if len(starts) != 1 {
		t.Fatalf("starts = %+v", starts)
	}
	r := starts[0]
	in := r.Input.(workflows.DLQReplayInput)
	if r.WorkflowID != workflows.DLQJobWorkflowID(id) || r.Workflow != workflows.DLQReplayWorkflow || r.Policy != dispatch.Once ||
		in.Filter.TenantID != "acme" || in.Filter.EventType != "order.created" || !in.Filter.Since.Equal(since) ||
		in.PageSize != dispatch.DefaultDLQPace.PageSize || in.Progress.Matched != 40 ||
		r.Memo["tenantId"] != "acme" || r.SearchAttributes[workflows.TenantIDAttr.GetName()] != "acme" {
		t.Fatalf("start = %+v", r)
	}

	if _, err := d.DLQReplayJob(ctx, "no-such-job"); !errors.Is(err, dispatch.ErrNoSuchJob) {
		t.Fatalf("unknown job: %v", err)
	}
	wf := workflows.DLQJobWorkflowID(id)
	fake.SetDescribed(wf, dispatchtest.Described{Status: dispatch.Running, Memo: map[string]string{"tenantId": "acme"},
		Progress: workflows.DLQProgress{Matched: 40, Replayed: 25}})
	job, err := d.DLQReplayJob(ctx, id)
	if err != nil || job.Status != "running" || job.TenantID != "acme" || job.Matched != 40 || job.Replayed != 25 {
		t.Fatalf("running job = %+v %v", job, err)
	}
	fake.SetDescribed(wf, dispatchtest.Described{Status: dispatch.Completed, Memo: map[string]string{"tenantId": "acme"}})
	fake.SetResult(wf, workflows.DLQProgress{Matched: 40, Replayed: 39, Skipped: 1, Done: true, Errors: []string{"x"}})
	job, err = d.DLQReplayJob(ctx, id)
	if err != nil || job.Status != "completed" || job.Replayed != 39 || job.Skipped != 1 || len(job.Errors) != 1 {
		t.Fatalf("completed job = %+v %v", job, err)
	}
	fake.SetDescribed(wf, dispatchtest.Described{Status: dispatch.Failed})
	if job, err = d.DLQReplayJob(ctx, id); err != nil || job.Status != "failed" || job.TenantID != "" {
		t.Fatalf("failed job = %+v %v", job, err)
	}
}
