// Package e2e holds webhookd's end-to-end tests: a real Temporal server, a
// real PostgreSQL database and real receivers; webhookd assembled in-process
// from its commands' parts, or run as its commands (some as separate OS
// processes, to be killed); the console in a headless browser; and the
// deployment files held against a running process. The shared rig is e2e/rig.
package e2e

import (
	"testing"

	"github.com/webhookd/webhookd/e2e/rig"
)

func TestMain(m *testing.M) { rig.Main(m) }
