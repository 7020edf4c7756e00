package workflows

import (
	"log/slog"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistory replays a history recorded on a real server (a
// 429, a durable timer, then success; see TestRecordDeliveryHistory in
// e2e). A change to the workflow that breaks determinism for runs
// already in flight fails here.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	Register(r)
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/delivery_history.json"); err != nil {
		t.Fatalf("the delivery workflow no longer replays its recorded history: %v", err)
	}
}
