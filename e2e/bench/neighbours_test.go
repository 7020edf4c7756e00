package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// BenchmarkNoisyNeighbour: tenant quiet posts 4 events/s to a fast
// receiver while tenant noisy has a backlog to a receiver that answers
// after 4 s, or times out (5 s), or is fast but 10,000 deep (a burst).
// Reported: quiet's event → receiver p99 ÷ its p99 on an idle system
// (target ≤ 2, and under 1 s). Each case runs on a fresh dev-shaped stack
// (SQLite Temporal file, PostgreSQL store, 64 worker slots); with
// WEBHOOKD_BENCH_NOFAIRNESS=1 the Temporal server's task-queue fairness is
// off, for comparison; WEBHOOKD_BENCH_START_WINDOW sets START_WINDOW.
func BenchmarkNoisyNeighbour(b *testing.B) {
	backlog := envInt("WEBHOOKD_BENCH_NOISY_BACKLOG", 600)
	burst := envInt("WEBHOOKD_BENCH_NOISY_BURST", 10000)
	quiet := envInt("WEBHOOKD_BENCH_QUIET", 40)
	noFairness := os.Getenv("WEBHOOKD_BENCH_NOFAIRNESS") == "1"
	window := envInt("WEBHOOKD_BENCH_START_WINDOW", 0) // 0: webhookd dev's default (config.DevStartWindow)
	run := func(name string, n rig.Neighbours) (p99 time.Duration) {
		b.Run(name, func(b *testing.B) {
			st := rig.NewStackWith(b, rig.Options{TemporalFile: filepath.Join(b.TempDir(), "temporal.db"),
				NoFairness: noFairness, StartWindow: window})
			res := st.RunNeighbours(n, 30*time.Minute)
			p99 = res.P(0.99)
			b.ReportMetric(ms(res.P(0.5)), "quiet-p50-ms")
			b.ReportMetric(ms(p99), "quiet-p99-ms")
			b.Logf("%s, %d cores, fairness %t: quiet p50 %v, p99 %v (outbox wait p50 %v, p99 %v); noisy answered %d of %d meanwhile",
				name, runtime.NumCPU(), !noFairness, res.P(0.5), p99, res.AdmittedP(0.5), res.AdmittedP(0.99), res.NoisyDone, n.Backlog)
			for _, s := range rig.StageNames {
				ds := res.Stages[s]
				if len(ds) == 0 {
					continue
				}
				b.Logf("  %-7s p50 %7v  p99 %7v  max %7v", s, ds[len(ds)/2].Round(time.Millisecond),
					ds[min(len(ds)-1, len(ds)*99/100)].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
			}
		})
		return p99
	}
	for range b.N {
		every := 250 * time.Millisecond
		idle := run("idle", rig.Neighbours{Quiet: quiet, Every: every})
		for _, c := range []struct {
			name string
			n    rig.Neighbours
		}{
			{"slow", rig.Neighbours{Backlog: backlog, Delay: 4 * time.Second, Quiet: quiet, Every: every}},
			{"timeout", rig.Neighbours{Backlog: backlog, Delay: time.Minute, Quiet: quiet, Every: every}},
			{"burst", rig.Neighbours{Backlog: burst, Quiet: quiet, Every: every}},
		} {
			p99 := run(c.name, c.n)
			b.ReportMetric(float64(p99)/float64(idle), c.name+"÷idle")
			b.Logf("%s: quiet p99 %v ÷ idle %v = %.1f", c.name, p99, idle, float64(p99)/float64(idle))
		}
	}
}
