package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// BenchmarkAwaitingRetry: 100,000 deliveries wait for a retry (their receiver
// fails), each an open workflow parked on a durable timer. Measured: ingest
// p99 with them ÷ on the empty system (target ≤ 1.2), the memory of the
// process that holds them (target < 512 MB), and how long `webhookd dev`
// takes to restart with them. The system is built in the `webhookd dev`
// layout (Temporal and webhookd both on SQLite files under one data dir),
// then handed to a real `webhookd dev` process, whose ingest is measured
// again against an empty `webhookd dev`'s. WEBHOOKD_BENCH_PARKED_REAL
// (default 2,000, twice the worker's workflow cache) of them are parked the
// real way, through ingest and a failed first attempt; the rest of
// WEBHOOKD_BENCH_PARKED (100,000) by bulk insert and delayed starts
// (parkBulk): through ingest and a first attempt, 100,000 would take most
// of an hour on two cores. With WEBHOOKD_BENCH_PPROF=dir, both `webhookd
// dev` processes write a CPU profile of their probe phase there
// (awaiting-<empty|full>-dev.pprof); a profiled run is a diagnosis, its
// ratios are not comparable. WEBHOOKD_BENCH_PARKED_DIR=dir keeps the parked
// system for the next run: a dir without one gets a copy of what a
// successful build made; a dir that holds one (less than keptFor old: the
// parked retries fall due at 12 h) is copied and restarted without the
// build, minutes instead of the parking's quarter of an hour, and reports
// the dev metrics only.
func BenchmarkAwaitingRetry(b *testing.B) {
	parked := envInt("WEBHOOKD_BENCH_PARKED", 100000)
	viaIngest := min(parked, envInt("WEBHOOKD_BENCH_PARKED_REAL", 2000))
	probes := envInt("WEBHOOKD_BENCH_POSTS", 600)
	dataDir := b.TempDir()
	var emptyP99, fullP99, emptyP50, fullP50, devEmptyP99 time.Duration
	var buildRSS float64
	// In the parent's scope: the restarted `webhookd dev` delivers to them too.
	failing, ok := newEventReceiver(b), newEventReceiver(b)
	failing.status.Store(500)
	probeBody := func(id string) string { return fmt.Sprintf(`{"id":%q,"type":"probe.created"}`, id) }
	keep := os.Getenv("WEBHOOKD_BENCH_PARKED_DIR")
	kept, builtAt, reuse := readKept(b, keep)
	if reuse {
		if age := time.Since(builtAt); age > keptFor {
			b.Fatalf("the parked system in %s was built %v ago: its retries fall due at 12 h; remove it to build a new one",
				keep, age.Round(time.Minute))
		}
		parked = kept
		copyDir(b, keep, dataDir)
		b.Logf("restarting the %d parked deliveries kept in %s; no build", parked, keep)
	}
	// The baseline for the restarted process: ingest of an empty `webhookd
	// dev`, the process users run, with the same probe webhook.
	b.Run("empty-dev", func(b *testing.B) {
		env := rig.DevEnv(b, b.TempDir())
		profileEnv(b, env)
		dev := rig.StartChild(b, env, "dev")
		defer dev.Stop(b)
		base := "http://" + env["HTTP_ADDR"]
		dev.WaitReady(b, base+"/readyz", 2*time.Minute)
		postJSON(b, base+"/api/v1/webhooks", "", fmt.Sprintf(`{"tenantId":"default","name":"probe","webhookType":"Generic",`+
			`"eventFilters":[{"eventType":"probe.*"}],"webhookConfig":{"endpoint":%q,"timeout":5}}`, ok.URL), 201)
		time.Sleep(devSettle) // as the restarted one below
		profiled := profileCPU(b, env, "awaiting-empty-dev.pprof")
		e := produce(b, base, "", "probe-dev-empty", probes, 1, 0, probeBody)
		profiled()
		noErrors(b, e)
		devEmptyP99 = e.p(0.99)
		b.Logf("empty webhookd dev: ingest p50 %v p99 %v; load average %s", e.p(0.5), devEmptyP99, loadAvg())
	})
	built := false // b.Run is true for a build a -bench filter left out, too
	b.Run("build", func(b *testing.B) {
		if reuse {
			b.Skip("reusing a kept parked system")
		}
		st := rig.NewStackWith(b, rig.Options{
			TemporalFile: filepath.Join(dataDir, "temporal.db"),
			StoreURL:     "sqlite:" + filepath.Join(dataDir, "webhookd.db"),
			// The first retry waits 12 h: every delivery stays parked.
			RetryDelays: []time.Duration{12 * time.Hour},
		})
		parkedHook := st.CreateTenantWebhook("default", "parked", "parked.*", failing.URL)
		st.CreateTenantWebhook("default", "probe", "probe.*", ok.URL)

		e := produce(b, st.API.URL, "", "probe-empty", probes, 1, 0, probeBody)
		noErrors(b, e)
		emptyP50, emptyP99 = e.p(0.5), e.p(0.99)
		b.Logf("empty: ingest p50 %v p99 %v; load average %s", emptyP50, emptyP99, loadAvg())

		started := time.Now()
		p := produce(b, st.API.URL, "", "parked", viaIngest, 16, 0, func(id string) string {
			return fmt.Sprintf(`{"id":%q,"type":"parked.created"}`, id)
		})
		waitStatus(b, st.Store, models.DeliveryAwaitingRetry, int64(len(p.ids)), 3*time.Hour)
		b.Logf("%d deliveries parked through ingest and a failed attempt in %v", len(p.ids), time.Since(started))
		started = time.Now()
		parkBulk(b, st, parkedHook, "parked", "parked.created", parked-len(p.ids))
		waitStatus(b, st.Store, models.DeliveryAwaitingRetry, int64(parked), time.Minute)
		b.Logf("%d more parked in bulk in %v", parked-len(p.ids), time.Since(started))

		f := produce(b, st.API.URL, "", "probe-full", probes, 1, 0, probeBody)
		noErrors(b, f)
		fullP50, fullP99 = f.p(0.5), f.p(0.99)
		b.Logf("full: ingest p50 %v p99 %v; load average %s", fullP50, fullP99, loadAvg())
		runtime.GC()
		buildRSS = rssMB(os.Getpid())
		built = true
	})
	if keep != "" && built {
		writeKept(b, keep, dataDir, parked)
	}
	b.Run("restart", func(b *testing.B) {
		env := rig.DevEnv(b, dataDir)
		profileEnv(b, env)
		t0 := time.Now()
		dev := rig.StartChild(b, env, "dev")
		defer dev.Stop(b)
		client := &http.Client{Timeout: 2 * time.Second}
		for {
			dev.Alive(b)
			resp, err := client.Get("http://" + env["HTTP_ADDR"] + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("webhookd dev not ready after 10 minutes:\n%s", dev.Out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		ready := time.Since(t0)
		if reuse {
			// Its webhooks name the receivers of the run that built it.
			pointWebhookAt(b, "http://"+env["HTTP_ADDR"], "parked", failing.URL)
			pointWebhookAt(b, "http://"+env["HTTP_ADDR"], "probe", ok.URL)
		}
		time.Sleep(devSettle)
		devRSS := rssMB(dev.Cmd.Process.Pid)
		profiled := profileCPU(b, env, "awaiting-full-dev.pprof")
		f := produce(b, "http://"+env["HTTP_ADDR"], "", "probe-dev-full", probes, 1, 0, probeBody)
		profiled()
		noErrors(b, f)
		devFullP99 := f.p(0.99)
		devRatio := ratio(float64(devFullP99), float64(devEmptyP99)) // 0: empty-dev did not run
		p99Ratio := ratio(float64(fullP99), float64(emptyP99))
		if built { // the build's, measured in this run
			b.ReportMetric(ms(emptyP99), "empty-ingest-p99-ms")
			b.ReportMetric(ms(fullP99), "full-ingest-p99-ms")
			b.ReportMetric(p99Ratio, "p99-ratio")
			b.ReportMetric(buildRSS, "build-process-rss-MB")
		}
		b.ReportMetric(ms(devEmptyP99), "dev-empty-ingest-p99-ms")
		b.ReportMetric(ms(devFullP99), "dev-full-ingest-p99-ms")
		b.ReportMetric(devRatio, "dev-p99-ratio")
		b.ReportMetric(devRSS, "dev-rss-MB")
		b.ReportMetric(ready.Seconds(), "dev-restart-s")
		if built {
			b.Logf("the process that parked them: ingest p50 %v → %v, p99 %v → %v (ratio %.2f); "+
				"RSS (Temporal server, API and worker in one) %.0f MB", emptyP50, fullP50, emptyP99, fullP99, p99Ratio, buildRSS)
		}
		b.Logf("%d cores, %d deliveries awaiting retry: webhookd dev restarted in %v, RSS %.0f MB after 20 s; "+
			"its ingest p50 %v, p99 %v ÷ an empty webhookd dev's %v = %.2f; load average %s",
			runtime.NumCPU(), parked, ready.Round(time.Millisecond), devRSS, f.p(0.5), devFullP99, devEmptyP99, devRatio, loadAvg())
		if !strings.Contains(dev.Out.String(), "webhookd dev is up") {
			b.Logf("dev output:\n%s", dev.Out)
		}
	})
}

// devSettle is how long a `webhookd dev` runs before its ingest is probed:
// its worker and starter settle after a start (with parked deliveries, the
// reconciler's first pass).
const devSettle = 20 * time.Second

// profileEnv has a child started with env serve pprof when
// WEBHOOKD_BENCH_PPROF names a directory.
func profileEnv(b *testing.B, env map[string]string) {
	if os.Getenv("WEBHOOKD_BENCH_PPROF") != "" {
		env[rig.PprofEnv] = rig.FreeAddr(b)
	}
}

// profileCPU starts a CPU profile of the child started with env (see
// profileEnv) into WEBHOOKD_BENCH_PPROF/name, and returns what waits for
// it: the profile covers profileSeconds from now, so the probes run inside it.
func profileCPU(b *testing.B, env map[string]string, name string) (wait func()) {
	dir, addr := os.Getenv("WEBHOOKD_BENCH_PPROF"), env[rig.PprofEnv]
	if dir == "" || addr == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		saveProfile(b, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, profileSeconds), filepath.Join(dir, name))
	}()
	return func() { <-done }
}

// profileSeconds: long enough for the default 600 probes on the slower
// side (about 15 ms each); more probes outlast the profile.
const profileSeconds = 15

// keptMarker, in a WEBHOOKD_BENCH_PARKED_DIR, says the copy is whole: it
// holds the number parked and when the build ended (a copy of the dir
// with fresh file times keeps it); keptFor is how long a kept system can
// be restarted before its 12 h retries fall due.
const (
	keptMarker = "parked.ok"
	keptFor    = 10 * time.Hour
)

// noErrors fails the benchmark if a probe post failed: the percentiles
// count only the answered ones.
func noErrors(b *testing.B, p produced) {
	b.Helper()
	if p.errors > 0 {
		b.Fatalf("%d of the probe posts failed", p.errors)
	}
}

// waitStatus waits until want deliveries have the status.
func waitStatus(b *testing.B, s *store.Store, status models.DeliveryStatus, want int64, within time.Duration) {
	b.Helper()
	deadline := time.Now().Add(within)
	lastLog := time.Now()
	for {
		n, err := s.CountDeliveries(context.Background(), store.DeliveryQuery{Status: status})
		if err != nil {
			b.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries %s after %v", n, want, status, within)
		}
		if time.Since(lastLog) > time.Minute {
			b.Logf("%d of %d deliveries %s", n, want, status)
			lastLog = time.Now()
		}
		time.Sleep(time.Second)
	}
}
