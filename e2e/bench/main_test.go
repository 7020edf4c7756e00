// Package bench holds the benchmarks of docs/performance.md, Performance section:
// webhookd assembled or run end to end (e2e/rig) against a baseline measured
// in the same run. `make bench` runs every one.
package bench

import (
	"testing"

	"github.com/webhookd/webhookd/e2e/rig"
)

func TestMain(m *testing.M) { rig.Main(m) }
