package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkScaleOut runs the production layout twice on one Temporal server
// with PostgreSQL persistence (WEBHOOKD_BENCH_TEMPORAL; skipped otherwise):
// one `api` and one `worker` process, then two of each, each on a fresh
// database, the producers taking turns between the api processes as a load
// balancer would. For each it reports flat-out deliveries/s, event →
// receiver p50/p99 at the same offered rate (half of the one-process flat
// rate), and, under a mixed load (a burst of tenant noisy, a webhook with
// maxConcurrency 2, one with rateLimit 10/s, tenant quiet posting 4 events/s),
// the most requests in flight and per second at the limited receivers and
// quiet's p99; and whether any delivery was started or sent twice (requests
// seen per event id at the receivers, attempts and workflow runs per
// delivery in the database). WEBHOOKD_BENCH_N (400 events flat out),
// WEBHOOKD_BENCH_SCALE_BURST (1,000), WEBHOOKD_BENCH_API_WORKER (false:
// api and worker strictly apart) and WEBHOOKD_BENCH_OUTBOX_STARTER (empty:
// auto) tune it.
func BenchmarkScaleOut(b *testing.B) {
	temporalAddr := benchTemporal(b)
	n := envInt("WEBHOOKD_BENCH_N", 400)
	burst := envInt("WEBHOOKD_BENCH_SCALE_BURST", 1000)
	apiWorker := cmp.Or(os.Getenv("WEBHOOKD_BENCH_API_WORKER"), "false")
	for range b.N {
		var halfRate, oneRate, oneP99 float64
		for _, k := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dapi-%dworker", k, k), func(b *testing.B) {
				freshTemporal(b, temporalAddr) // each layout on a fresh server
				r := runScaleOut(b, temporalAddr, k, n, burst, apiWorker, halfRate)
				switch {
				case k == 1:
					halfRate, oneRate, oneP99 = r.flat/2, r.flat, ms(r.p99)
				case oneRate <= 0 || oneP99 <= 0:
					// One of each was filtered out (-bench 'ScaleOut/2api'):
					// no ratio, rather than an Inf or NaN in the report.
					b.Logf("no ratios to one of each: it did not run (or measured nothing)")
				default:
					b.ReportMetric(r.flat/oneRate, "throughput÷1x1")
					b.ReportMetric(ms(r.p99)/oneP99, "p99÷1x1")
					b.Logf("two of each ÷ one of each: throughput %.2f, p99 at the same rate %.2f", r.flat/oneRate, ms(r.p99)/oneP99)
				}
			})
		}
	}
}

type scaleOutResult struct {
	flat     float64
	p50, p99 time.Duration
}

func runScaleOut(b *testing.B, temporalAddr string, k, n, burst int, apiWorker string, halfRate float64) scaleOutResult {
	ps := startProd(b, temporalAddr, fmt.Sprintf("scale%d", k), k, k, apiWorker)
	fast, quiet := newEventReceiver(b), newEventReceiver(b)
	narrow := newPaced(b, 100*time.Millisecond, 0) // answers after 100 ms
	rated := newPaced(b, 0, 0)
	ps.webhook(b, "noisy", "fast", "order.*", fast.URL, "")
	ps.webhook(b, "quiet", "quiet", "tick.*", quiet.URL, "")
	ps.webhook(b, "narrow", "narrow", "narrow.*", narrow.URL, `,"maxConcurrency":2`)
	ps.webhook(b, "rated", "rated", "rated.*", rated.URL, `,"rateLimit":10`)
	body := func(tenant, typ string) func(string) string {
		return func(id string) string {
			return fmt.Sprintf(`{"tenantId":%q,"id":%q,"type":%q,"data":{"pad":%q}}`, tenant, id, typ, strings.Repeat("x", 1000))
		}
	}

	// Flat out.
	flat := produceTo(b, ps.bases, ps.token, "flat", n, 32, 0, body("noisy", "order.created"))
	last, _ := fast.waitFor(b, flat.ids, 30*time.Minute)
	res := scaleOutResult{flat: float64(len(flat.ids)) / last.Sub(flat.start).Seconds()}

	// The same offered rate for both layouts: half of one of each's flat rate.
	if halfRate == 0 {
		halfRate = res.flat / 2
	}
	every := time.Duration(float64(time.Second) / halfRate)
	half := produceTo(b, ps.bases, ps.token, "half", n, 64, every, body("noisy", "order.created"))
	_, arrivals := fast.waitFor(b, half.ids, 30*time.Minute)
	var lat []time.Duration
	for _, id := range half.ids {
		lat = append(lat, arrivals[id].Sub(half.sent[id]))
	}
	res.p50, res.p99 = percentile(lat, 0.5), percentile(lat, 0.99)

	// Mixed: a burst, two limited webhooks, and a quiet tenant at 4/s.
	const limited, ticks = 100, 40
	var wg sync.WaitGroup
	var noisy, nar, rat, tick produced
	wg.Go(func() {
		noisy = produceTo(b, ps.bases, ps.token, "burst", burst, 16, 0, body("noisy", "order.created"))
	})
	wg.Go(func() {
		nar = produceTo(b, ps.bases, ps.token, "narrow", limited, 4, 0, body("narrow", "narrow.created"))
	})
	wg.Go(func() { rat = produceTo(b, ps.bases, ps.token, "rated", limited, 4, 0, body("rated", "rated.created")) })
	wg.Go(func() {
		tick = produceTo(b, ps.bases, ps.token, "tick", ticks, 4, 250*time.Millisecond, body("quiet", "tick.tock"))
	})
	wg.Wait()
	_, tickArrivals := quiet.waitFor(b, tick.ids, 30*time.Minute)
	var quietLat []time.Duration
	for _, id := range tick.ids {
		quietLat = append(quietLat, tickArrivals[id].Sub(tick.sent[id]))
	}
	fast.waitFor(b, noisy.ids, 30*time.Minute)
	narrow.waitAccepted(b, len(nar.ids), 10*time.Minute)
	rated.waitAccepted(b, len(rat.ids), 10*time.Minute)
	errors := flat.errors + half.errors + noisy.errors + nar.errors + rat.errors + tick.errors

	// Twice started or sent: every receiver answers 200, so each event
	// must arrive once and each delivery have one attempt and one run.
	time.Sleep(2 * time.Second) // a duplicate in flight would land now
	narrow.mu.Lock()
	rated.mu.Lock()
	narrowMost, narrowSeen := narrow.most, len(narrow.at)
	ratedAt := slices.Clone(rated.at)
	narrow.mu.Unlock()
	rated.mu.Unlock()
	seenTwice := int(fast.requests.Load()) - len(flat.ids) - len(half.ids) - len(noisy.ids) +
		int(quiet.requests.Load()) - len(tick.ids) + narrowSeen - len(nar.ids) + len(ratedAt) - len(rat.ids)
	multiAttempt, multiRun, deliveries := duplicateStarts(b, ps.dbURL)

	p := func(q float64) time.Duration { return percentile(quietLat, q) }
	b.ReportMetric(res.flat, "deliveries/s")
	b.ReportMetric(ms(res.p99), "p99-ms")
	b.ReportMetric(float64(seenTwice), "requests-seen-twice")
	b.ReportMetric(float64(multiAttempt+multiRun), "deliveries-started-twice")
	b.ReportMetric(float64(narrowMost), "maxConcurrency2-most-in-flight")
	b.ReportMetric(float64(maxInWindow(ratedAt, time.Second)), "rateLimit10-most-in-1s")
	b.ReportMetric(ms(p(0.99)), "quiet-p99-ms")
	b.Logf("%d api + %d worker (API_WORKER=%s), %d cores: flat out %.1f deliveries/s; at %.1f/s p50 %v p99 %v; "+
		"mixed (burst %d): quiet p50 %v p99 %v, maxConcurrency 2 → most in flight %d, rateLimit 10/s → most in 1 s %d; "+
		"%d deliveries: %d requests seen twice, %d with more than one attempt, %d with more than one run; %d post errors",
		k, k, apiWorker, runtime.NumCPU(), res.flat, halfRate, res.p50, res.p99, burst, p(0.5), p(0.99),
		narrowMost, maxInWindow(ratedAt, time.Second), deliveries, seenTwice, multiAttempt, multiRun, errors)
	// A request seen twice with one attempt and one run recorded is an
	// attempt sent again inside its run: a workflow task that timed out
	// on an overloaded worker runs its local activity again (delivery is
	// at least once; receivers deduplicate by id). Reported, not failed.
	// A second attempt or run of a delivery whose receiver answered 200
	// would be a second start.
	if multiAttempt != 0 || multiRun != 0 || narrowMost > 2 {
		b.Errorf("scale-out broke a guarantee: %d deliveries with several attempts, %d with several runs, %d in flight at maxConcurrency 2",
			multiAttempt, multiRun, narrowMost)
	}
	return res
}

// duplicateStarts counts, in webhookd's database, deliveries with more
// than one attempt and with attempts from more than one workflow run.
func duplicateStarts(b *testing.B, dbURL string) (multiAttempt, multiRun, deliveries int) {
	b.Helper()
	queryDB(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM (SELECT delivery_id FROM attempts GROUP BY delivery_id HAVING count(*) > 1) m),
		(SELECT count(*) FROM (SELECT delivery_id FROM attempts GROUP BY delivery_id HAVING count(DISTINCT run_id) > 1) r),
		(SELECT count(*) FROM deliveries)`).Scan(&multiAttempt, &multiRun, &deliveries)
	})
	return multiAttempt, multiRun, deliveries
}
