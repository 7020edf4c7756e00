package workflows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWaitsReadBothForms: inputs carry retry delays as nanoseconds (what
// the previous release reads, TestOldWorkerReadsNewInput), and decode both
// those and Go's duration text.
func TestWaitsReadBothForms(t *testing.T) {
	in := DeliveryInput{DeliveryID: "d1", RetryDelays: []time.Duration{time.Minute, 4 * time.Hour}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"RetryDelays":[60000000000,14400000000000]`) {
		t.Fatalf("input JSON %s does not carry the waits as nanoseconds", b)
	}
	for _, doc := range []string{string(b), `{"DeliveryID":"d1","RetryDelays":["1m0s","4h0m0s"]}`} {
		var got DeliveryInput
		if err := json.Unmarshal([]byte(doc), &got); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if !slices.Equal(got.RetryDelays, in.RetryDelays) {
			t.Fatalf("%s read as %v", doc, got.RetryDelays)
		}
	}
	if b, _ := json.Marshal(DeliveryInput{}); strings.Contains(string(b), "RetryDelays") {
		t.Fatalf("no schedule is left out: %s", b)
	}
	var bad DeliveryInput
	if err := json.Unmarshal([]byte(`{"RetryDelays":["soon"]}`), &bad); err == nil {
		t.Fatal("a wait that is neither a duration nor a number was read")
	}
}
