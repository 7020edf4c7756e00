package runner

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestTemporalLatenciesHaveSecondBuckets: a 3 ms workflow-task latency
// lands in a bucket that tells it from 4 s, so the quantiles the dashboard
// and alerts take mean something.
func TestTemporalLatenciesHaveSecondBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := Metrics(reg, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	h.Timer("temporal_workflow_task_schedule_to_start_latency").Record(3 * time.Millisecond)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "temporal_workflow_task_schedule_to_start_latency_seconds" {
			continue
		}
		for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
			if b.GetUpperBound() == 0.005 {
				if b.GetCumulativeCount() != 1 {
					t.Fatalf("le=0.005 holds %d samples, want the 3 ms one", b.GetCumulativeCount())
				}
				return
			}
		}
		t.Fatalf("no 5 ms bucket: %v", f.GetMetric()[0].GetHistogram().GetBucket())
	}
	t.Fatal("the timer is not exported as temporal_workflow_task_schedule_to_start_latency_seconds")
}
