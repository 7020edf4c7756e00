// Package dispatchtest has a fake dispatch.Runner: an in-memory stand-in for
// Temporal that records what dispatch asks of it, keeps which workflows
// have an open run, and answers with what a test scripts.
package dispatchtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/webhookd/webhookd/internal/dispatch"
)

// Runner is a fake dispatch.Runner; the zero value is not usable, call New.
type Runner struct {
	mu sync.Mutex
	// FailStart, when set, decides whether a start fails (Temporal down).
	FailStart func(r dispatch.Run) error
	// ListErr, when set, is what List answers (visibility unavailable).
	ListErr error

	starts  []dispatch.Run
	open    map[string]bool // workflow id → a run is open
	ran     map[string]bool // workflow id → it ever had a run
	cancels []string
	ended   []string // runs terminated (Terminate)
	queries []string
	runs    map[string]Described
	results map[string]any
}

// Described is what Describe answers for a workflow.
type Described struct {
	Status   dispatch.RunStatus
	Memo     map[string]any
	Progress any
}

var _ dispatch.Runner = (*Runner)(nil)

// New returns a fake with no workflows.
func New() *Runner {
	return &Runner{open: map[string]bool{}, ran: map[string]bool{}, runs: map[string]Described{}, results: map[string]any{}}
}

// Start records every call. Like Temporal, it opens a run unless the policy
// turns the start away: Once when the id ever ran, Again while a run is
// open; Replace ends an open run first.
func (f *Runner) Start(_ context.Context, r dispatch.Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailStart != nil {
		if err := f.FailStart(r); err != nil {
			return err
		}
	}
	f.starts = append(f.starts, r)
	switch {
	case r.Policy == dispatch.Once && f.ran[r.WorkflowID]:
	case r.Policy == dispatch.Again && f.open[r.WorkflowID]:
	default: // Replace ends an open run as it starts the new one
		f.open[r.WorkflowID], f.ran[r.WorkflowID] = true, true
	}
	return nil
}

// Cancel closes the open run of the workflow, as a delivery workflow does
// when asked to cancel.
func (f *Runner) Cancel(_ context.Context, workflowID string) error {
	return f.end(workflowID, &f.cancels)
}

// Terminate ends the open run of the workflow.
func (f *Runner) Terminate(_ context.Context, workflowID, _ string) error {
	return f.end(workflowID, &f.ended)
}

// end closes the open run of a workflow and notes it in ended.
func (f *Runner) end(workflowID string, ended *[]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.open[workflowID] {
		return dispatch.ErrNoRun
	}
	f.open[workflowID] = false
	*ended = append(*ended, workflowID)
	return nil
}

// Describe answers what SetDescribed scripted for the workflow.
func (f *Runner) Describe(_ context.Context, workflowID string, memo map[string]any, progress any) (dispatch.RunStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.runs[workflowID]
	if !ok {
		return 0, dispatch.ErrNoRun
	}
	for k, v := range memo {
		if m, ok := d.Memo[k]; ok {
			if err := roundTrip(m, v); err != nil {
				return 0, fmt.Errorf("memo: %w", err)
			}
		}
	}
	if d.Status == dispatch.Running && d.Progress != nil {
		if err := roundTrip(d.Progress, progress); err != nil {
			return 0, fmt.Errorf("progress: %w", err)
		}
	}
	return d.Status, nil
}

// List answers the workflows with an open run (whatever the query asks:
// the query is recorded for the test to check), or ListErr.
func (f *Runner) List(_ context.Context, query string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, query)
	if f.ListErr != nil {
		return nil, f.ListErr
	}
	var ids []string
	for id, open := range f.open {
		if open {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Result answers what SetResult scripted for the workflow.
func (f *Runner) Result(_ context.Context, workflowID string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, ok := f.results[workflowID]
	if !ok {
		return dispatch.ErrNoRun
	}
	return roundTrip(res, v)
}

// SetOpen marks workflows as having an open run, started elsewhere.
func (f *Runner) SetOpen(workflowIDs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range workflowIDs {
		f.open[id], f.ran[id] = true, true
	}
}

// SetDescribed scripts what Describe answers for a workflow.
func (f *Runner) SetDescribed(workflowID string, d Described) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[workflowID] = d
}

// SetResult scripts what Result answers for a workflow.
func (f *Runner) SetResult(workflowID string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[workflowID] = v
}

// Starts returns every start asked for, in order (turned away or not).
func (f *Runner) Starts() []dispatch.Run {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]dispatch.Run(nil), f.starts...)
}

// Open reports whether the workflow has an open run.
func (f *Runner) Open(workflowID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open[workflowID]
}

// Cancelled returns the workflows whose open run was cancelled, in order.
func (f *Runner) Cancelled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cancels...)
}

// Ended returns the workflows whose open run Terminate ended, in order.
func (f *Runner) Ended() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ended...)
}

// Queries returns the visibility queries List was asked, in order.
func (f *Runner) Queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

// roundTrip decodes what a real Runner would have carried as JSON.
func roundTrip(from, into any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}
