package bench

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/e2e/rig"
)

// BenchmarkProductionNeighbours is BenchmarkNoisyNeighbour where users run
// webhookd: `migrate`, then `api` and `worker` as separate processes,
// against the Temporal server with PostgreSQL persistence named in
// WEBHOOKD_BENCH_TEMPORAL (skipped otherwise; scripts/temporal-postgres.sh).
// Tenant quiet posts 4 events/s (WEBHOOKD_BENCH_QUIET, 200) to a fast
// receiver while tenant noisy has a backlog (WEBHOOKD_BENCH_NOISY_BACKLOG,
// 600) to a receiver that answers after 4 s, or never within the webhook's
// 10 s timeout, or 10,000 events (WEBHOOKD_BENCH_NOISY_BURST) to a fast
// one. Reported: quiet's event → receiver p99 ÷ its p99 alone (target ≤ 2,
// and under 1 s), and where the quiet tenant's time went (logStages: each
// step from its post to the receiver, and the slowest three's stories).
// Each case has a fresh database and task queue on the same Temporal
// server (or a fresh server, with WEBHOOKD_BENCH_TEMPORAL_FRESH=true).
// The layout is ProductionLike's: WEBHOOKD_BENCH_API_WORKER (default
// true) and WEBHOOKD_BENCH_OUTBOX_STARTER.
func BenchmarkProductionNeighbours(b *testing.B) {
	temporalAddr := benchTemporal(b)
	backlog := envInt("WEBHOOKD_BENCH_NOISY_BACKLOG", 600)
	burst := envInt("WEBHOOKD_BENCH_NOISY_BURST", 10000)
	quiet := envInt("WEBHOOKD_BENCH_QUIET", 200)
	apiWorker := cmp.Or(os.Getenv("WEBHOOKD_BENCH_API_WORKER"), "true")
	run := func(name string, noisyEvents int, delay time.Duration) (p99 time.Duration) {
		b.Run(name, func(b *testing.B) {
			// Each case's numbers are its own, not those of the last
			// case's leftovers (WEBHOOKD_BENCH_TEMPORAL_FRESH).
			freshTemporal(b, temporalAddr)
			ps := startProd(b, temporalAddr, "neighbours-"+name, 1, 1, apiWorker)
			base := ps.bases[0]
			var noisyDone atomic.Int64
			noisy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(delay):
					noisyDone.Add(1)
				case <-r.Context().Done():
				}
			}))
			b.Cleanup(noisy.Close)
			b.Cleanup(noisy.CloseClientConnections) // first: no handler keeps Close waiting
			rc := newEventReceiver(b)
			ps.webhook(b, "quiet", "fast", "tick.*", rc.URL, "")
			ps.webhook(b, "noisy", "noisy", "noise.*", noisy.URL, "")
			tenantEvent := func(tenant, typ string) func(id string) string {
				return func(id string) string {
					return fmt.Sprintf(`{"tenantId":%q,"id":%q,"type":%q,"data":{}}`, tenant, id, typ)
				}
			}
			// Warm-up: the first deliveries of a fresh stack wait for
			// connections, caches and pollers to grow; measured, they
			// would make the idle p99 a start-up figure.
			warm := produce(b, base, ps.token, "warm", 8, 1, 100*time.Millisecond, tenantEvent("quiet", "tick.warm"))
			rc.waitFor(b, warm.ids, time.Minute)
			if noisyEvents > 0 {
				np := produce(b, base, ps.token, "noise", noisyEvents, 8, 0, tenantEvent("noisy", "noise.made"))
				if np.errors > 0 {
					b.Fatalf("%d of the noisy tenant's posts failed", np.errors)
				}
			}
			q := produce(b, base, ps.token, "tick", quiet, 4, 250*time.Millisecond, tenantEvent("quiet", "tick.tock"))
			if q.errors > 0 {
				b.Fatalf("%d of the quiet tenant's posts failed", q.errors)
			}
			_, arrivals := rc.waitFor(b, q.ids, 10*time.Minute)
			lat := make([]time.Duration, 0, len(q.ids))
			for _, id := range q.ids {
				lat = append(lat, arrivals[id].Sub(q.sent[id]))
			}
			p50 := percentile(lat, 0.5)
			p99 = percentile(lat, 0.99)
			c, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: rig.QuietSDKLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			logStages(context.Background(), b, c, ps.dbURL, "quiet", q.sent, arrivals, 3)
			b.ReportMetric(ms(p50), "quiet-p50-ms")
			b.ReportMetric(ms(p99), "quiet-p99-ms")
			b.Logf("%s, %d cores, API_WORKER=%s: quiet p50 %v, p99 %v; noisy answered %d of %d meanwhile",
				name, runtime.NumCPU(), apiWorker, p50, p99, noisyDone.Load(), noisyEvents)
		})
		return p99
	}
	for range b.N {
		idle := run("idle", 0, 0)
		for _, c := range []struct {
			name   string
			events int
			delay  time.Duration
		}{
			{"slow", backlog, 4 * time.Second},
			{"timeout", backlog, time.Minute},
			{"burst", burst, 0},
		} {
			p99 := run(c.name, c.events, c.delay)
			b.ReportMetric(ratio(float64(p99), float64(idle)), c.name+"÷idle")
			b.Logf("%s: quiet p99 %v ÷ idle %v = %.1f", c.name, p99, idle, ratio(float64(p99), float64(idle)))
		}
	}
}
