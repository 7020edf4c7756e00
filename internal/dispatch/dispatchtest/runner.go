// Package dispatchtest has a fake dispatch.Runner: an in-memory stand-in for
// Temporal that records what dispatch asks of it, keeps which workflows
// have an open run, and answers with what a test scripts.
package dispatchtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/workflows"
)

// Runner is a fake dispatch.Runner; the zero value is not usable, call New.
type Runner struct {
	mu sync.Mutex
	// FailStart, when set, decides whether a start fails (Temporal down).
	FailStart func(r dispatch.Run) error
	// Took, when set, is how long a start takes (slept before it, with
	// other starts under way at once, as against a real server).
	Took func(r dispatch.Run) time.Duration
	// ListErr, when set, is what List answers (visibility unavailable).
	ListErr error

	starts    []dispatch.Run
	runs      map[string]dispatch.Run // workflow id → its latest run
	open      map[string]bool         // workflow id → its latest run is open
	cancels   []string
	ended     []string // runs terminated (Terminate)
	signals   []string // "workflow id: signal", in order
	queries   []string
	described map[string]Described
	results   map[string]any
}

// Described is what Describe and Query answer for a workflow.
type Described struct {
	Status dispatch.RunStatus
	Memo   map[string]string
	// Progress is the answer to workflows.ProgressQuery.
	Progress any
}

var _ dispatch.Runner = (*Runner)(nil)

// New returns a fake with no workflows.
func New() *Runner {
	return &Runner{runs: map[string]dispatch.Run{}, open: map[string]bool{}, described: map[string]Described{}, results: map[string]any{}}
}

// Start records every call with a policy (one without is refused, as the
// real Runner refuses it). Like Temporal, it opens a run unless the policy
// turns the start away: Once when the id ever ran, Again while a run is
// open; Replace ends an open run first.
func (f *Runner) Start(_ context.Context, r dispatch.Run) error {
	if f.Took != nil {
		time.Sleep(f.Took(r))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Policy {
	case dispatch.Once, dispatch.Again, dispatch.Replace:
	default:
		return fmt.Errorf("start %s: unknown policy %d", r.WorkflowID, r.Policy)
	}
	if f.FailStart != nil {
		if err := f.FailStart(r); err != nil {
			return err
		}
	}
	f.starts = append(f.starts, r)
	_, ran := f.runs[r.WorkflowID]
	switch {
	case r.Policy == dispatch.Once && ran:
	case r.Policy == dispatch.Again && f.open[r.WorkflowID]:
	default: // Replace ends an open run as it starts the new one
		f.runs[r.WorkflowID], f.open[r.WorkflowID] = r, true
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

// Signal records the signal to an open run.
func (f *Runner) Signal(_ context.Context, workflowID, signal string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.open[workflowID] {
		return dispatch.ErrNoRun
	}
	f.signals = append(f.signals, workflowID+": "+signal)
	return nil
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
func (f *Runner) Describe(_ context.Context, workflowID string) (dispatch.Description, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.described[workflowID]
	if !ok {
		return dispatch.Description{}, dispatch.ErrNoRun
	}
	return dispatch.Description{Status: d.Status, Memo: d.Memo}, nil
}

// Query answers the progress query with what SetDescribed scripted as the
// workflow's Progress.
func (f *Runner) Query(_ context.Context, workflowID, query string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.described[workflowID]
	switch {
	case !ok:
		return dispatch.ErrNoRun
	case query != workflows.ProgressQuery || d.Progress == nil:
		return fmt.Errorf("query %s of %s: no answer scripted", query, workflowID)
	}
	return roundTrip(d.Progress, v)
}

// List records the query and answers the workflows whose latest run it
// selects (see match for the queries it understands), or ListErr.
func (f *Runner) List(_ context.Context, query string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, query)
	if f.ListErr != nil {
		return nil, f.ListErr
	}
	where, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	var ids []string
	for id, r := range f.runs {
		ok, err := where.match(r, f.open[id])
		if err != nil {
			return nil, fmt.Errorf("%w in %q", err, query)
		}
		if ok {
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

// SetOpen opens runs started elsewhere (another process, or before the
// test) as Start would have: List finds them by their Workflow and
// SearchAttributes.
func (f *Runner) SetOpen(runs ...dispatch.Run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range runs {
		f.runs[r.WorkflowID], f.open[r.WorkflowID] = r, true
	}
}

// SetDescribed scripts what Describe and Query answer for a workflow.
func (f *Runner) SetDescribed(workflowID string, d Described) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.described[workflowID] = d
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

// Signals returns the signals sent to open runs, each "workflow id:
// signal", in order.
func (f *Runner) Signals() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.signals...)
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
