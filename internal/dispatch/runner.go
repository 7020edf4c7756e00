package dispatch

import (
	"context"
	"errors"
)

// Runner is what dispatch asks of the workflow engine (Temporal): start,
// cancel, end, signal, describe and find workflow runs, and wait for one's result.
// internal/runner implements it over the Temporal client; dispatchtest has
// a fake for tests.
type Runner interface {
	// Start starts r. A start that r.Policy turns away because the run
	// exists already is not an error.
	Start(ctx context.Context, r Run) error
	// Cancel asks the open run of a workflow to cancel; the workflow
	// decides what that means (a delivery records itself cancelled).
	Cancel(ctx context.Context, workflowID string) error
	// Terminate ends the open run of a workflow at once, with a reason
	// the Web UI shows.
	Terminate(ctx context.Context, workflowID, reason string) error
	// Signal sends the open run of a workflow the named signal (the
	// workflows package names them), without an argument.
	Signal(ctx context.Context, workflowID, signal string) error
	// Describe reports a workflow's latest run.
	Describe(ctx context.Context, workflowID string) (Description, error)
	// Query asks a workflow's latest run a query (the workflows package
	// names them) and decodes the answer into v.
	Query(ctx context.Context, workflowID, query string, v any) error
	// List returns the ids of the workflows a visibility query selects.
	List(ctx context.Context, query string) ([]string, error)
	// Result waits for the latest run of a workflow to complete and decodes
	// its result into v.
	Result(ctx context.Context, workflowID string, v any) error
}

// ErrNoRun means the workflow has no run to cancel, end, describe, query or
// wait for (never started, closed, or removed by retention). Every Runner
// method but Start and List may answer it.
var ErrNoRun = errors.New("no such workflow run")

// Description is a workflow's latest run, as Describe reports it.
type Description struct {
	Status RunStatus
	// Memo is the run's memo, as started (Run.Memo).
	Memo map[string]string
}

// Run is a workflow run to start.
type Run struct {
	WorkflowID string
	// Workflow is the registered name of the workflow (workflows package).
	Workflow string
	Input    any
	Policy   Policy
	// Eager asks for the first workflow task in the start's answer, which
	// saves a poll round trip when this process runs a worker too.
	Eager bool
	// SearchAttributes are keyword search attributes, by name.
	SearchAttributes map[string]string
	// Memo is shown by the Web UI and read back by Describe.
	Memo map[string]string
	// Summary is the one line the Web UI shows for the run.
	Summary string
	// Priority orders the run's tasks in the task queue when they back up.
	Priority Priority
}

// Priority is Temporal's task-queue priority of a run (see the README's
// "Scheduling model"): Key 1 (first) to 5 (last), 0 for the server's
// default (3); among tasks of one Key, the server dispatches each Fairness
// key its share when fairness is on (matching.enableFairness).
type Priority struct {
	Key      int
	Fairness string
}

// Priority keys of delivery runs: a first attempt never waits behind a
// replay or a released backlog.
const (
	PriorityTest    = 1 // a test send, someone is waiting for it
	PriorityFirst   = 2 // a delivery's first run, from the outbox
	PriorityAgain   = 3 // a run re-started by the reconciler
	PriorityRelease = 4 // a replay (one or DLQ replay-all) or a resumed webhook's backlog
)

// Policy says what an earlier run of the same workflow id means to a start.
// The zero Policy is none: a Run must say which it wants, and a Runner
// refuses a start without one.
type Policy int

const (
	// Once: the workflow id runs once; if a run exists at all (a start
	// whose answer was lost, then retried), it is that run.
	Once Policy = iota + 1
	// Again: a new run, unless one is open (then that one goes on).
	Again
	// Replace: a new run; an open one is terminated.
	Replace
)

// RunStatus is the state of a workflow's latest run.
type RunStatus int

const (
	// Running: open (continued-as-new counts as open).
	Running RunStatus = iota
	// Completed: closed with a result.
	Completed
	// Failed: closed otherwise (failed, terminated, cancelled, timed out).
	Failed
)
