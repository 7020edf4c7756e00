package workflows

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
)

// TestOldWorkerReadsNewInput: during a rolling upgrade a worker of the
// previous release can take a delivery a new process started. That worker
// decodes RetryDelays as []time.Duration, and a workflow whose input does
// not decode fails at once (the SDK fails the run, it does not retry the
// task), so the input must stay in the form the previous release reads.
func TestOldWorkerReadsNewInput(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	// Fields the previous release does not know (docs/operations.md,
	// "Upgrading") are dropped, not an error.
	p, err := dc.ToPayload(DeliveryInput{DeliveryID: "d1", RetryDelays: Waits{time.Minute, 4 * time.Hour},
		Throttled: 2, Attempts: 5, LimitWaits: 100})
	if err != nil {
		t.Fatal(err)
	}
	// The previous release's DeliveryInput, as far as it matters here.
	var old struct {
		DeliveryID  string
		RetryDelays []time.Duration `json:",omitempty"`
	}
	if err := dc.FromPayload(p, &old); err != nil {
		t.Fatalf("a worker of the previous release cannot read the input %s: %v", p.GetData(), err)
	}
	if want := []time.Duration{time.Minute, 4 * time.Hour}; !slices.Equal(old.RetryDelays, want) {
		t.Fatalf("the previous release reads the delays as %v, want %v", old.RetryDelays, want)
	}
}
