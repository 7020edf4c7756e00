package workflows

import (
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays every history recorded on a real server
// by an earlier release (testdata/<release>/*.json; see
// TestRecordReleaseHistories in e2e): one per path a delivery can
// take, including runs still waiting on a retry timer, plus the bulk-replay
// and maintenance workflows. A change that breaks determinism for runs
// already in flight fails here; guard such changes with workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	var files []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 14 {
		t.Fatalf("found %d recorded histories, want at least 14", len(files))
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, f := range files {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(f), "testdata/"), ".json"), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("no longer replays: %v", err)
			}
		})
	}
}
