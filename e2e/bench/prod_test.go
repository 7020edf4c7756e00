package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/e2e/rig"
)

// BenchmarkProductionLike measures webhookd where users run it: `webhookd
// migrate`, then `webhookd api` and `webhookd worker` as separate OS
// processes, against a Temporal server with PostgreSQL persistence (start one
// with scripts/temporal-postgres.sh and name it in WEBHOOKD_BENCH_TEMPORAL;
// skipped otherwise). The baseline is the naive design (one workflow per
// delivery calling one regular activity that POSTs) on the same server, in
// the same run. Reported: flat-out deliveries/s and the ratio (target ≥ 1.5),
// event → receiver latency at half of webhookd's flat-out rate (p99 target
// < 1 s), a burst's accepted/s ÷ delivered/s and the longest wait of a first
// attempt in Temporal after the burst (target ≤ 5 s).
// prodProducers is how many producers post at once in the flat-out run, for
// webhookd and for the naive baseline alike.
const prodProducers = 32

func BenchmarkProductionLike(b *testing.B) {
	temporalAddr := benchTemporal(b)
	freshTemporal(b, temporalAddr)
	n := envInt("WEBHOOKD_BENCH_N", 400)
	burst := envInt("WEBHOOKD_BENCH_BURST", 10000)
	// The api runs a worker too (API_WORKER), so that the workflows it starts
	// begin in the same process (eager start); the worker process starts
	// some too (OUTBOX_STARTER=auto) and takes retries.
	// WEBHOOKD_BENCH_API_WORKER=false measures the api and the worker
	// strictly apart (the workers start everything);
	// WEBHOOKD_BENCH_OUTBOX_STARTER=api, the layouts before auto.
	apiWorker := cmp.Or(os.Getenv("WEBHOOKD_BENCH_API_WORKER"), "true")
	ps := startProd(b, temporalAddr, "prod", 1, 1, apiWorker)
	dbURL, base, token := ps.dbURL, ps.bases[0], ps.token
	api, worker := ps.apis[0], ps.workers[0]
	queue := "naive-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")

	// The webhook may have as many requests in flight as the naive baseline
	// has workflows in flight (its 32 producers): the comparison is of the
	// delivery path, not of the default maxConcurrency (10), which caps one
	// endpoint on purpose (docs/architecture.md, "Per-webhook limits").
	rc := newEventReceiver(b)
	postJSON(b, base+"/api/v1/webhooks", token, fmt.Sprintf(
		`{"name":"bench","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":%q,"secretKey":%q,"maxConcurrency":%d}}`,
		rc.URL, rig.Secret, prodProducers), 201)

	c, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: rig.QuietSDKLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	naiveRC := newTimingReceiver(b)
	startNaiveWorker(b, c, naiveRC.URL)
	naive := func(id string) error {
		_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: queue + id, TaskQueue: naiveQueue},
			naiveWorkflowName, id, strings.Repeat("x", 1000))
		return err
	}

	for range b.N {
		// Flat out: as many producers as it takes.
		ours := produce(b, base, token, "flat", n, prodProducers, 0, eventBody)
		last, _ := rc.waitFor(b, ours.ids, 30*time.Minute)
		oursRate := float64(len(ours.ids)) / last.Sub(ours.start).Seconds()
		naiveFlat := drive(b, naiveRC, n, prodProducers, 0, "naive-flat-", naive)
		b.Logf("flat out: webhookd %.1f deliveries/s (%d errors), naive %.1f/s: ratio %.2f",
			oursRate, ours.errors, naiveFlat.perSecond, oursRate/naiveFlat.perSecond)

		// At half of webhookd's flat-out rate, for both.
		every := time.Duration(float64(time.Second) / (oursRate / 2))
		half := produce(b, base, token, "half", n, 64, every, eventBody)
		_, arrivals := rc.waitFor(b, half.ids, 30*time.Minute)
		var lat []time.Duration
		for _, id := range half.ids {
			lat = append(lat, arrivals[id].Sub(half.sent[id]))
		}
		naiveHalf := drive(b, naiveRC, n, 64, every, "naive-half-", naive)
		p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
		b.Logf("at %.1f/s: webhookd event → receiver p50 %v p99 %v; naive p50 %v p99 %v",
			oursRate/2, p50, p99, naiveHalf.p50, naiveHalf.p99)

		// A burst: accepted at database speed, delivered at Temporal's.
		bp := produce(b, base, token, "burst", burst, 16, 0, eventBody)
		bLast, _ := rc.waitFor(b, bp.ids, 3*time.Hour)
		accepted := float64(len(bp.ids)) / bp.lastDone.Sub(bp.start).Seconds()
		delivered := float64(len(bp.ids)) / bLast.Sub(bp.start).Seconds()
		maxWait, p99Wait := firstAttemptWaits(b, dbURL)
		b.Logf("burst of %d: accepted %.0f/s (ingest p99 %v, %d errors), delivered %.1f/s, ratio %.1f; "+
			"first attempt after its start: p99 %v, longest %v",
			len(bp.ids), accepted, bp.p(0.99), bp.errors, delivered, accepted/delivered, p99Wait, maxWait)
		logLongestFirstAttempts(context.Background(), b, c, dbURL, bp.start, 3)

		b.ReportMetric(oursRate, "deliveries/s")
		b.ReportMetric(naiveFlat.perSecond, "naive-deliveries/s")
		b.ReportMetric(oursRate/naiveFlat.perSecond, "throughput-ratio")
		b.ReportMetric(ms(p99), "half-load-p99-ms")
		b.ReportMetric(ms(naiveHalf.p99), "naive-half-load-p99-ms")
		b.ReportMetric(accepted/delivered, "burst-accepted÷delivered")
		b.ReportMetric(maxWait.Seconds(), "longest-first-attempt-wait-s")
		b.ReportMetric(rssMB(worker.Cmd.Process.Pid), "worker-rss-MB")
		b.Logf("%d cores; api and worker are separate processes; worker RSS %.0f MB, api RSS %.0f MB",
			runtime.NumCPU(), rssMB(worker.Cmd.Process.Pid), rssMB(api.Cmd.Process.Pid))
	}
}

// firstAttemptWaits reads, from webhookd's database, how long each first
// attempt waited after its workflow was started (the time a workflow task
// sat in Temporal's queue).
func firstAttemptWaits(b *testing.B, dbURL string) (longest, p99 time.Duration) {
	b.Helper()
	var seconds []float64
	queryDB(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		rows, _ := conn.Query(ctx, `SELECT extract(epoch FROM a.started_at - d.dispatched_at)::float8
			FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.number = 1 AND d.dispatched_at IS NOT NULL`)
		var err error
		seconds, err = pgx.CollectRows(rows, pgx.RowTo[float64])
		return err
	})
	waits := make([]time.Duration, 0, len(seconds))
	for _, s := range seconds {
		waits = append(waits, time.Duration(s*float64(time.Second)))
	}
	return percentile(waits, 1), percentile(waits, 0.99)
}
