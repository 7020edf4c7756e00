package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

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

// DLQFilter selects the dead-letter entries a bulk replay takes.
type DLQFilter struct {
	// TenantID confines a job to one tenant; empty (an admin's job) means
	// every tenant.
	TenantID  string
	WebhookID string
	EventType string
	Since     time.Time
	Until     time.Time
}

// StartDLQReplay starts a ReplayDeadLetters job for the filter and returns
// its id. matched is the queue's size at the start, for progress reports.
func (d *Dispatcher) StartDLQReplay(ctx context.Context, f DLQFilter, matched int, pace DLQPace) (string, error) {
	if pace.PageSize <= 0 || pace.Pause <= 0 {
		pace = DefaultDLQPace
	}
	jobID := uuid.Must(uuid.NewV7()).String()
	err := d.runner.Start(ctx, Run{
		WorkflowID: workflows.DLQJobWorkflowID(jobID),
		Workflow:   workflows.DLQReplayWorkflow,
		Input: workflows.DLQReplayInput{
			Filter:   workflows.DLQFilter(f),
			PageSize: pace.PageSize, Pause: pace.Pause, Progress: workflows.DLQProgress{Matched: matched},
		},
		// Each job has a fresh id: it runs once.
		Policy:  Once,
		Summary: "replay of the dead-letter queue",
		// The tenant (empty for an admin's job over every tenant) decides
		// who may follow the job, and lets tenant deletion find it.
		Memo:             map[string]string{"tenantId": f.TenantID},
		SearchAttributes: map[string]string{workflows.TenantIDAttr.GetName(): f.TenantID},
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
	Matched  int    // entries in the queue when the job was created
	Replayed int
	Skipped  int      // refused (webhook deleted or disabled) or failed to start
	Errors   []string // the last few, for operators
}

// ErrNoSuchJob means no bulk replay has that id.
var ErrNoSuchJob = errors.New("no such replay job")

// DLQReplayJob reports a bulk replay's progress.
func (d *Dispatcher) DLQReplayJob(ctx context.Context, jobID string) (*DLQJob, error) {
	wfID := workflows.DLQJobWorkflowID(jobID)
	desc, err := d.runner.Describe(ctx, wfID)
	if errors.Is(err, ErrNoRun) {
		return nil, ErrNoSuchJob
	}
	if err != nil {
		return nil, fmt.Errorf("replay job %s: %w", jobID, err)
	}
	job := &DLQJob{ID: jobID, TenantID: desc.Memo["tenantId"]}
	var p workflows.DLQProgress
	switch desc.Status {
	case Running:
		job.Status = "running"
		if err := d.runner.Query(ctx, wfID, workflows.ProgressQuery, &p); err != nil {
			return nil, fmt.Errorf("replay job %s: progress: %w", jobID, err)
		}
	case Completed:
		job.Status = "completed"
		if err := d.runner.Result(ctx, wfID, &p); err != nil {
			return nil, fmt.Errorf("replay job %s: result: %w", jobID, err)
		}
	default:
		job.Status = "failed"
	}
	job.Matched, job.Replayed, job.Skipped, job.Errors = p.Matched, p.Replayed, p.Skipped, p.Errors
	return job, nil
}
