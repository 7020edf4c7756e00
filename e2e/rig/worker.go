package rig

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ChildWorker is a second `webhookd worker`, a separate OS process against
// the stack's Temporal and database, with its own /metrics.
type ChildWorker struct {
	*Process
	// MetricsURL is the child's /metrics.
	MetricsURL string
}

// StartChildWorker starts a ChildWorker and waits until it is ready. It
// starts no deliveries (OUTBOX_STARTER=api): the stack's process does, and
// the child runs what it polls, as a second worker beside it.
func (st *Stack) StartChildWorker(tb testing.TB) *ChildWorker {
	tb.Helper()
	metrics := FreeAddr(tb)
	w := StartChild(tb, map[string]string{
		"DATABASE_URL": st.DBURL, "TEMPORAL_ADDRESS": st.Config.TemporalAddress, "ENCRYPTION_KEYS": EncryptionKeys,
		"METRICS_ADDR": metrics, "LOG_LEVEL": "error", "ALLOW_PRIVATE_ENDPOINTS": "true", "OUTBOX_STARTER": "api",
	}, "worker")
	w.WaitReady(tb, "http://"+metrics+"/readyz", 60*time.Second)
	return &ChildWorker{Process: w, MetricsURL: "http://" + metrics + "/metrics"}
}

// Counter sums the counter named name over its labels in the child's
// /metrics (0 when it has none yet).
func (c *ChildWorker) Counter(tb testing.TB, name string) float64 {
	tb.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(c.MetricsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	if f := families[name]; f != nil {
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
