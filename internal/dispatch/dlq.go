package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/webhookd/webhookd/workflows"
)

// DLQPace is how fast a bulk replay goes: PageSize deliveries every Pause.
type DLQPace struct {
	PageSize int
	Pause    time.Duration
}

// DefaultDLQPace is 25 deliveries a second: it leaves the Temporal server
// room for live traffic (a small server saturates at a few dozen workflow
// starts a second).
var DefaultDLQPace = DLQPace{PageSize: 25, Pause: time.Second}

// StartDLQReplay starts a ReplayDeadLetters job for the filter and returns
// its id. matched is the queue's size at the start, for progress reports.
func (d *Dispatcher) StartDLQReplay(ctx context.Context, f workflows.DLQFilter, matched int, pace DLQPace) (string, error) {
	if pace.PageSize <= 0 || pace.Pause <= 0 {
		pace = DefaultDLQPace
	}
	jobID := uuid.Must(uuid.NewV7()).String()
	_, err := d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.DLQJobWorkflowID(jobID), TaskQueue: d.TaskQueue,
		StaticSummary: "replay of the dead-letter queue",
		// The tenant (empty for an admin's job over every tenant) decides
		// who may follow the job, and lets tenant deletion find it.
		Memo:                  map[string]any{"tenantId": f.TenantID},
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.TenantIDAttr.ValueSet(f.TenantID)),
	}, workflows.DLQReplayWorkflow, workflows.DLQReplayInput{
		Filter: f, PageSize: pace.PageSize, Pause: pace.Pause, Progress: workflows.DLQProgress{Matched: matched},
	})
	if err != nil {
		return "", fmt.Errorf("start dead-letter replay: %w", err)
	}
	return jobID, nil
}

// DLQJob is a bulk replay's state.
type DLQJob struct {
	ID string
	// TenantID is the job's tenant; empty for an admin's job.
	TenantID string
	Status   string // running | completed | failed
	Progress workflows.DLQProgress
}

// ErrNoSuchJob means no bulk replay has that id.
var ErrNoSuchJob = errors.New("no such replay job")

// DLQReplayJob reports a bulk replay's progress.
func (d *Dispatcher) DLQReplayJob(ctx context.Context, jobID string) (*DLQJob, error) {
	wfID := workflows.DLQJobWorkflowID(jobID)
	desc, err := d.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, ErrNoSuchJob
	}
	if err != nil {
		return nil, err
	}
	job := &DLQJob{ID: jobID, Status: "running"}
	info := desc.GetWorkflowExecutionInfo()
	if p, ok := info.GetMemo().GetFields()["tenantId"]; ok {
		if err := converter.GetDefaultDataConverter().FromPayload(p, &job.TenantID); err != nil {
			return nil, fmt.Errorf("replay job %s: memo: %w", jobID, err)
		}
	}
	switch info.GetStatus() {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING, enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		v, err := d.Temporal.QueryWorkflow(ctx, wfID, "", workflows.ProgressQuery)
		if err == nil {
			err = v.Get(&job.Progress)
		}
		if err != nil {
			return nil, fmt.Errorf("replay job %s: progress: %w", jobID, err)
		}
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		job.Status = "completed"
		if err := d.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, &job.Progress); err != nil {
			return nil, fmt.Errorf("replay job %s: result: %w", jobID, err)
		}
	default:
		job.Status = "failed"
	}
	return job, nil
}
