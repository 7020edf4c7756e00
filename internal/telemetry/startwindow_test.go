package telemetry_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/internal/telemetry"
)

// TestStartWindowGauge: webhookd_start_window reads the starter's window
// at each scrape.
func TestStartWindowGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	size := 16
	if err := telemetry.RegisterStartWindow(reg, func() int { return size }); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{16, 40} {
		size = want
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 || mfs[0].GetName() != telemetry.StartWindow || len(mfs[0].GetMetric()) != 1 {
			t.Fatalf("gathered %v, %v; want one webhookd_start_window", mfs, err)
		}
		if got := mfs[0].GetMetric()[0].GetGauge().GetValue(); got != float64(want) {
			t.Fatalf("webhookd_start_window = %v, want %d", got, want)
		}
	}
}
