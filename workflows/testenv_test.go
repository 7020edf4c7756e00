package workflows

import (
	"os"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

// testDeadlockTimeout replaces the SDK's 1 s deadlock detector in these
// tests: on a loaded two-core machine a workflow step can wait for a CPU
// for longer than that without blocking anything, and the detector then
// fails a correct workflow ("potential deadlock detected"). A workflow that
// really blocks still fails, 10 s later.
const testDeadlockTimeout = 10 * time.Second

// newTestEnv is a time-skipping test environment for one workflow test.
func newTestEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	if os.Getenv("TEMPORAL_DEBUG") == "" { // a debugger's pauses are no deadlock either
		env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testDeadlockTimeout})
	}
	return env
}
