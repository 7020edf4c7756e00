package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// BenchmarkSoak runs the production-like stack (`webhookd migrate`, then
// `webhookd api` and `webhookd worker` as separate OS processes, against the
// Temporal server named in WEBHOOKD_BENCH_TEMPORAL, scripts/temporal-postgres.sh;
// without one, the embedded server of a `webhookd dev` process) under
// a steady stream for WEBHOOKD_BENCH_SOAK (a Go duration, default 3m): about
// WEBHOOKD_BENCH_SOAK_RATE events/s (25) over 3 tenants and 4 webhooks, one of
// whose receivers always answers 500, so that its deliveries pile up as open
// workflows waiting on retry timers (the default schedule: 1m, 5m, 15m, …).
// Every WEBHOOKD_BENCH_SOAK_SAMPLE (30s) it samples the RSS of both
// processes and the worker's Go heap. Reported: the worker's median RSS over
// the first and the last window (5 minutes, or a third of a shorter run) of
// the load (the sample taken before it is logged, not counted) and their
// ratio (target: flat, ≤ 1.1), and the healthy deliveries' event →
// receiver p99 per minute against the first minute (target ≤ 1.5); for each
// minute past that (WEBHOOKD_BENCH_SOAK_SLOW_PCT, 150), where its slowest
// 1% spent their time, from their rows in the database.
// WEBHOOKD_BENCH_PROFILE_DIR, if set, receives heap profiles of the worker
// and the api after the first window and at the end; WEBHOOKD_BENCH_SOAK_LOG,
// if set, a line per sample as the run goes; WEBHOOKD_BENCH_CACHE_SIZE sets
// both processes' WORKFLOW_CACHE_SIZE (default: webhookd's).
func BenchmarkSoak(b *testing.B) {
	temporalAddr, temporalKind := os.Getenv("WEBHOOKD_BENCH_TEMPORAL"), "Temporal server at WEBHOOKD_BENCH_TEMPORAL"
	if temporalAddr != "" {
		freshTemporal(b, temporalAddr)
	} else {
		// Without one (make bench), the embedded SQLite Temporal server of
		// a `webhookd dev` child process, on its own task queue: webhookd's
		// api and worker are still separate processes.
		env := rig.DevEnv(b, b.TempDir())
		dev := rig.StartChild(b, env, "dev")
		dev.WaitReady(b, "http://"+env["HTTP_ADDR"]+"/readyz", 2*time.Minute)
		temporalAddr, temporalKind = env["TEMPORAL_ADDRESS"], "the embedded Temporal of webhookd dev (SQLite; set WEBHOOKD_BENCH_TEMPORAL for PostgreSQL persistence)"
	}
	dur := envDuration(b, "WEBHOOKD_BENCH_SOAK", 3*time.Minute)
	every := envDuration(b, "WEBHOOKD_BENCH_SOAK_SAMPLE", 30*time.Second)
	rate := envInt("WEBHOOKD_BENCH_SOAK_RATE", 25)
	window := min(5*time.Minute, dur/3)
	profDir := os.Getenv("WEBHOOKD_BENCH_PROFILE_DIR")
	var live io.Writer = io.Discard
	if path := os.Getenv("WEBHOOKD_BENCH_SOAK_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		live = f
	}

	for range b.N {
		queue := "soak-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
		dbURL := storetest.EmptyPostgresURL(b)
		env := rig.Env(b)
		maps.Copy(env, map[string]string{
			"DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": temporalAddr, "TEMPORAL_TASK_QUEUE": queue,
			"API_TOKEN": "soak-token", "ALLOW_PRIVATE_ENDPOINTS": "true",
		})
		if n := os.Getenv("WEBHOOKD_BENCH_CACHE_SIZE"); n != "" {
			env["WORKFLOW_CACHE_SIZE"] = n
		}
		if err := app.Run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
			b.Fatalf("migrate: %v", err)
		}
		// As the compose file runs them: the api starts workflows eagerly
		// in its own worker, and so does the worker process (the default
		// OUTBOX_STARTER=auto), which also takes retries.
		apiEnv, workerEnv := maps.Clone(env), maps.Clone(env)
		apiEnv["API_WORKER"] = "true"
		apiEnv[rig.PprofEnv], workerEnv[rig.PprofEnv] = rig.FreeAddr(b), rig.FreeAddr(b)
		api := rig.StartChild(b, apiEnv, "api")
		worker := rig.StartChild(b, workerEnv, "worker")
		base := "http://" + env["HTTP_ADDR"]
		api.WaitReady(b, base+"/readyz", time.Minute)
		worker.WaitReady(b, "http://"+env["METRICS_ADDR"]+"/readyz", time.Minute)

		healthy, failing := newEventReceiver(b), newEventReceiver(b)
		failing.status.Store(500)
		kinds := []soakKind{
			{tenant: "soak-a", typ: "a.ok.created", healthy: true},
			{tenant: "soak-a", typ: "a.fail.created"},
			{tenant: "soak-b", typ: "b.ok.created", healthy: true},
			{tenant: "soak-c", typ: "c.ok.created", healthy: true},
		}
		for _, k := range kinds {
			endpoint, breaker := healthy.URL, ""
			if !k.healthy {
				// The breaker would hold its deliveries instead of letting
				// retries pile up (its default span is an hour anyway).
				endpoint, breaker = failing.URL, `,"circuitBreaker":{"enabled":false}`
			}
			postJSON(b, base+"/api/v1/webhooks", env["API_TOKEN"], fmt.Sprintf(
				`{"tenantId":%q,"name":%q,"webhookType":"Generic","eventFilters":[{"eventType":%q}],"webhookConfig":{"endpoint":%q,"secretKey":%q%s}}`,
				k.tenant, k.typ, k.typ, endpoint, rig.Secret, breaker), 201)
		}

		var (
			samples []soakSample
			smu     sync.Mutex
		)
		start := time.Now()
		take := func() {
			s := soakSample{
				at: time.Since(start), workerRSS: rssMB(worker.Cmd.Process.Pid), apiRSS: rssMB(api.Cmd.Process.Pid),
				workerHeap: metricValue("http://"+env["METRICS_ADDR"]+"/metrics", "go_memstats_heap_inuse_bytes") / (1 << 20),
				failed:     failing.requests.Load(), load: loadAvg(),
			}
			fmt.Fprintf(live, "%s t=%4.0fs worker RSS %.0f MB (heap in use %.0f MB), api RSS %.0f MB, failed attempts %d, load %s\n",
				time.Now().UTC().Format(time.TimeOnly), s.at.Seconds(), s.workerRSS, s.workerHeap, s.apiRSS, s.failed, s.load)
			smu.Lock()
			samples = append(samples, s)
			smu.Unlock()
		}
		// Before any load: shown with the others, but no part of the
		// first window (its RSS is the idle process's). Taken before the
		// sampler starts, so that it is always samples[0].
		take()
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(every)
			defer tick.Stop()
			profiled := false
			for {
				select {
				case <-stopSampling:
					return
				case <-tick.C:
					take()
					if !profiled && time.Since(start) >= window && profDir != "" {
						profiled = true
						heapProfile(b, "http://"+workerEnv[rig.PprofEnv], filepath.Join(profDir, "worker-heap-early.pb.gz"))
						heapProfile(b, "http://"+apiEnv[rig.PprofEnv], filepath.Join(profDir, "api-heap-early.pb.gz"))
					}
				}
			}
		}()

		load := soakProduce(b, base, env["API_TOKEN"], kinds, rate, dur)
		close(stopSampling)
		<-sampled
		take()
		if profDir != "" {
			heapProfile(b, "http://"+workerEnv[rig.PprofEnv], filepath.Join(profDir, "worker-heap-end.pb.gz"))
			heapProfile(b, "http://"+apiEnv[rig.PprofEnv], filepath.Join(profDir, "api-heap-end.pb.gz"))
		}
		_, arrivals := healthy.waitFor(b, load.healthyIDs, 5*time.Minute)

		// Healthy deliveries' event → receiver latency, by the minute sent.
		perMinute, idsByMinute := map[int][]time.Duration{}, map[int][]string{}
		for _, id := range load.healthyIDs {
			m := int(load.sent[id].Sub(load.start) / time.Minute)
			perMinute[m] = append(perMinute[m], arrivals[id].Sub(load.sent[id]))
			idsByMinute[m] = append(idsByMinute[m], id)
		}
		minutes := slices.Sorted(maps.Keys(perMinute))
		first := percentile(perMinute[minutes[0]], 0.99)
		var worst time.Duration
		var line []string
		for _, m := range minutes {
			p := percentile(perMinute[m], 0.99)
			// A last, partial minute of a few events says little.
			if len(perMinute[m]) >= 60 {
				worst = max(worst, p)
			}
			line = append(line, fmt.Sprintf("%d:%v", m+1, p.Round(time.Millisecond)))
		}
		last := percentile(perMinute[minutes[len(minutes)-1]], 0.99)
		// WEBHOOKD_BENCH_SOAK_SLOW_PCT: the minutes split, by their p99 in
		// percent of the first minute's (150).
		slowLines := slowSteps(b, dbURL, load, arrivals, idsByMinute, first*time.Duration(envInt("WEBHOOKD_BENCH_SOAK_SLOW_PCT", 150))/100)

		var early, late []float64
		var sampleLines []string
		for i, s := range samples {
			if i > 0 && (s.at <= window || len(early) == 0) { // at least the first sample under load
				early = append(early, s.workerRSS)
			}
			if s.at >= dur-window {
				late = append(late, s.workerRSS)
			}
			sampleLines = append(sampleLines, fmt.Sprintf("%4.0fs %4.0f/%4.0f/%4.0f %6d %s",
				s.at.Seconds(), s.workerRSS, s.workerHeap, s.apiRSS, s.failed, s.load))
		}
		earlyRSS, lateRSS := medianFloat(early), medianFloat(late)
		pending := countAwaitingRetry(b, dbURL)
		b.Logf("samples (t, worker RSS/heap in use/api RSS MB, failed attempts, load average):\n%s", strings.Join(sampleLines, "\n"))
		b.Logf("healthy p99 by minute sent: %s", strings.Join(line, " "))
		if len(slowLines) > 0 {
			b.Logf("where the slowest 1%% of each minute over 1.5× minute 1 spent their time (event posted → accepted, "+
				"accepted → claimed by the starter, claimed → request begun, begun → arrived; p50/max):\n%s", strings.Join(slowLines, "\n"))
		}
		b.Logf("%d cores, %s, %v at %d events/s: %d events accepted (%d errors, ingest p99 %v), %d healthy deliveries, "+
			"%d failed attempts, %d deliveries awaiting retry at the end; worker RSS median %.0f MB in the first %v, "+
			"%.0f MB in the last %v (ratio %.2f; api %.0f MB at the end); healthy p99 minute 1 %v, worst full minute %v "+
			"(ratio %.2f), last minute %v; load average %s at the end",
			runtime.NumCPU(), temporalKind, dur, rate, load.accepted, load.errors, load.p(0.99), len(load.healthyIDs),
			failing.requests.Load(), pending, earlyRSS, window, lateRSS, window, ratio(lateRSS, earlyRSS),
			samples[len(samples)-1].apiRSS, first, worst, ratio(float64(worst), float64(first)), last, loadAvg())
		b.ReportMetric(earlyRSS, "worker-rss-first-MB")
		b.ReportMetric(lateRSS, "worker-rss-last-MB")
		b.ReportMetric(ratio(lateRSS, earlyRSS), "worker-rss-ratio")
		b.ReportMetric(ms(first), "healthy-p99-minute1-ms")
		b.ReportMetric(ms(worst), "healthy-p99-worst-minute-ms")
		b.ReportMetric(ratio(float64(worst), float64(first)), "healthy-p99-ratio")
		b.ReportMetric(float64(pending), "awaiting-retry")
		b.ReportMetric(float64(load.errors), "ingest-errors")
	}
}

// soakKind is one of the soak's event streams: a tenant's event type, which
// one webhook of that tenant takes.
type soakKind struct {
	tenant, typ string
	healthy     bool
}

type soakSample struct {
	at                            time.Duration
	workerRSS, workerHeap, apiRSS float64
	failed                        int64
	load                          string
}

// soakLoad is what the soak's producers saw.
type soakLoad struct {
	start      time.Time
	sent       map[string]time.Time // healthy events only
	healthyIDs []string
	latency    []time.Duration // of every accepted post, sorted
	accepted   int
	errors     int
}

func (l soakLoad) p(q float64) time.Duration { return percentile(l.latency, q) }

// soakProduce posts rate events/s for dur, the kinds in turn, each event
// from whichever of 32 producers is free.
func soakProduce(b *testing.B, base, token string, kinds []soakKind, rate int, dur time.Duration) soakLoad {
	b.Helper()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	load := soakLoad{start: time.Now(), sent: map[string]time.Time{}}
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	pad := strings.Repeat("x", 1000)
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				k := kinds[i%len(kinds)]
				id := fmt.Sprintf("soak-%07d", i)
				body := fmt.Sprintf(`{"tenantId":%q,"id":%q,"type":%q,"data":{"pad":%q}}`, k.tenant, id, k.typ, pad)
				req, _ := http.NewRequest("POST", base+"/api/v1/events", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				took := time.Since(t0)
				ok := err == nil && resp.StatusCode == http.StatusAccepted
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				if ok {
					load.accepted++
					load.latency = append(load.latency, took)
					if k.healthy {
						load.healthyIDs = append(load.healthyIDs, id)
						load.sent[id] = t0
					}
				} else {
					load.errors++
				}
				mu.Unlock()
			}
		})
	}
	gap := time.Second / time.Duration(rate)
	for i := 0; time.Since(load.start) < dur; i++ {
		time.Sleep(time.Until(load.start.Add(time.Duration(i) * gap)))
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	slices.Sort(load.latency)
	return load
}

// envDuration reads a Go duration from the environment.
func envDuration(b *testing.B, key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive Go duration (30m)", key, v)
	}
	return d
}

// metricValue reads one unlabelled sample from a Prometheus text page (-1
// if it cannot).
func metricValue(url, name string) float64 {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// heapProfile saves a heap profile (after a GC) of the process serving
// pprof at base.
func heapProfile(b *testing.B, base, path string) {
	saveProfile(b, base+"/debug/pprof/heap?gc=1", path)
}

// saveProfile writes what a pprof URL answers to path; a failure is
// logged, not fatal: a profile is a diagnosis, not a measurement.
func saveProfile(b *testing.B, url, path string) {
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Get(url)
	if err != nil {
		b.Logf("profile %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Logf("profile: %v", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Logf("profile %s: %v", path, err)
	}
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// countAwaitingRetry counts webhookd's deliveries waiting for a retry.
func countAwaitingRetry(b *testing.B, dbURL string) (n int64) {
	b.Helper()
	queryDB(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 'awaitingRetry'`).Scan(&n)
	})
	return n
}

// slowSteps splits the latency of the slowest 1% of the healthy
// deliveries of each minute whose p99 passed over (1.5× the first
// minute's) at the delivery row's creation (the event accepted), its claim
// by the starter (dispatched_at) and its first attempt's start: posting,
// the outbox, the start and the workflow's way to its send (Temporal, the
// worker, the limiter), and the request. A line per such minute.
func slowSteps(b *testing.B, dbURL string, load soakLoad, arrivals map[string]time.Time, idsByMinute map[int][]string, over time.Duration) []string {
	b.Helper()
	var lines []string
	for _, m := range slices.Sorted(maps.Keys(idsByMinute)) {
		ids := idsByMinute[m]
		if len(ids) < 60 {
			continue
		}
		took := func(id string) time.Duration { return arrivals[id].Sub(load.sent[id]) }
		slices.SortFunc(ids, func(x, y string) int { return int(took(y) - took(x)) })
		slow := ids[:max(1, len(ids)/100)]
		if took(slow[len(slow)-1]) <= over {
			continue
		}
		steps := make([][]time.Duration, 4)
		// A failed read costs this line, not the run's other numbers.
		err := func() error {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, dbURL)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			rows, err := conn.Query(ctx, `SELECT d.event_id, d.created_at, d.dispatched_at, min(a.started_at)
				FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
				WHERE d.event_id = ANY($1) AND d.dispatched_at IS NOT NULL
				GROUP BY d.event_id, d.created_at, d.dispatched_at`, slow)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var created, claimed, begun time.Time
				if err := rows.Scan(&id, &created, &claimed, &begun); err != nil {
					return err
				}
				for i, d := range []time.Duration{created.Sub(load.sent[id]), claimed.Sub(created), begun.Sub(claimed), arrivals[id].Sub(begun)} {
					steps[i] = append(steps[i], d)
				}
			}
			return rows.Err()
		}()
		if err != nil {
			lines = append(lines, fmt.Sprintf("minute %d: %v", m+1, err))
			continue
		}
		var parts []string
		for _, st := range steps {
			slices.Sort(st)
			if len(st) == 0 {
				parts = append(parts, "-")
				continue
			}
			parts = append(parts, fmt.Sprintf("%v/%v", percentile(st, 0.5).Round(time.Millisecond), st[len(st)-1].Round(time.Millisecond)))
		}
		lines = append(lines, fmt.Sprintf("minute %d, %d slowest (%v–%v): %s", m+1, len(slow),
			took(slow[len(slow)-1]).Round(time.Millisecond), took(slow[0]).Round(time.Millisecond), strings.Join(parts, ", ")))
	}
	return lines
}
