package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Bulk replay of the dead-letter queue runs as a workflow of its own: it pages
// through failed deliveries and replays them at a bounded rate, so that a
// "replay all" of thousands neither times out an HTTP call nor floods the
// Temporal server (a server fed faster than it runs workflows gets slower;
// see "Admission control" in the README).
const (
	DLQReplayWorkflow     = "ReplayDeadLetters"
	DLQReplayPageActivity = "ReplayDeadLetterPage"
	dlqJobPrefix          = "dlq-replay-"
	// pagesPerRun bounds one run's history; the job continues as new.
	pagesPerRun = 100
)

// DLQJobWorkflowID names a bulk replay job.
func DLQJobWorkflowID(jobID string) string { return dlqJobPrefix + jobID }

// DLQFilter selects dead-letter entries.
type DLQFilter struct {
	// TenantID confines a job to one tenant; empty (an admin's job) means
	// every tenant.
	TenantID  string    `json:",omitempty"`
	WebhookID string    `json:",omitempty"`
	EventType string    `json:",omitempty"`
	Since     time.Time `json:",omitempty"`
	Until     time.Time `json:",omitempty"`
}

// DLQCursor is the last delivery a page handled (pages go newest first).
type DLQCursor struct {
	CreatedAt time.Time
	ID        string
}

// DLQReplayInput starts (or continues) a bulk replay job.
type DLQReplayInput struct {
	Filter   DLQFilter
	PageSize int
	// Pause between pages: PageSize/Pause is the replay rate.
	Pause    time.Duration
	Cursor   *DLQCursor  `json:",omitempty"`
	Progress DLQProgress // carried across continue-as-new
}

// DLQProgress is a job's state, returned by the progress query and as the
// workflow result.
type DLQProgress struct {
	Matched  int // entries in the queue when the job was created
	Replayed int
	Skipped  int // refused (webhook deleted or disabled) or failed to start
	Done     bool
	Errors   []string `json:",omitempty"` // the last few, for operators
}

// DLQPageInput asks the page activity for one page.
type DLQPageInput struct {
	Filter   DLQFilter
	Cursor   *DLQCursor `json:",omitempty"`
	PageSize int
}

// DLQPageResult is what one page did; Next is nil after the last page.
type DLQPageResult struct {
	Replayed int
	Skipped  int
	Errors   []string   `json:",omitempty"`
	Next     *DLQCursor `json:",omitempty"`
}

const maxKeptErrors = 10

// DLQReplay replays every dead-letter entry matching the filter.
func DLQReplay(ctx workflow.Context, in DLQReplayInput) (DLQProgress, error) {
	progress := in.Progress
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (DLQProgress, error) { return progress, nil }); err != nil {
		return progress, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	cursor := in.Cursor
	for page := 0; page < pagesPerRun; page++ {
		var res DLQPageResult
		err := workflow.ExecuteActivity(ctx, DLQReplayPageActivity, DLQPageInput{
			Filter: in.Filter, Cursor: cursor, PageSize: in.PageSize,
		}).Get(ctx, &res)
		if err != nil {
			return progress, err
		}
		progress.Replayed += res.Replayed
		progress.Skipped += res.Skipped
		progress.Errors = append(progress.Errors, res.Errors...)
		if n := len(progress.Errors); n > maxKeptErrors {
			progress.Errors = progress.Errors[n-maxKeptErrors:]
		}
		if res.Next == nil {
			progress.Done = true
			return progress, nil
		}
		cursor = res.Next
		if err := workflow.Sleep(ctx, in.Pause); err != nil {
			return progress, err
		}
	}
	next := in
	next.Cursor, next.Progress = cursor, progress
	return progress, workflow.NewContinueAsNewError(ctx, DLQReplayWorkflow, next)
}
