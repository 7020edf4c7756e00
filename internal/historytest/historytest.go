// Package historytest records workflow histories for the replay tests
// (workflows/replay_test.go replays what it saves): the tests that record
// a release's histories, on a real Temporal server, share it.
package historytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// Save reads a run's whole history (runID "": the latest run) and writes it
// as indented JSON to path, creating its directory; it returns the history,
// for a test that replays it too.
func Save(ctx context.Context, c client.Client, workflowID, runID, path string) (*historypb.History, error) {
	var h historypb.History
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return &h, os.WriteFile(path, b, 0o644)
}
