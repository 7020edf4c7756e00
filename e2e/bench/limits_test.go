package bench

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/models"
)

// Per-webhook limits (docs/architecture.md, "Per-webhook limits"): how closely a
// webhook's rateLimit and maxConcurrency hold with a backlog pending, and
// what a throttling receiver costs. WEBHOOKD_BENCH_LIMIT_PENDING sets the
// backlog (1,000 by default).

// paced is a receiver that records when each request came and the most
// requests it ever had in flight; over capacity (requests/s, 0: none) it
// answers 429 with Retry-After: 1.
type paced struct {
	*httptest.Server
	mu             sync.Mutex
	at             []time.Time
	inFlight, most int
	throttled      int
}

func newPaced(tb testing.TB, hold time.Duration, capacity float64) *paced {
	p := &paced{}
	var lim *rate.Limiter
	if capacity > 0 {
		lim = rate.NewLimiter(rate.Limit(capacity), 1)
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.at = append(p.at, time.Now())
		p.inFlight++
		p.most = max(p.most, p.inFlight)
		over := lim != nil && !lim.Allow()
		if over {
			p.throttled++
		}
		p.mu.Unlock()
		time.Sleep(hold)
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
		if over {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	tb.Cleanup(p.Close)
	return p
}

// waitAccepted waits until n requests were answered 2xx.
func (p *paced) waitAccepted(tb testing.TB, n int, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		ok := len(p.at) - p.throttled
		p.mu.Unlock()
		if ok >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d requests accepted within %v", ok, n, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// maxInWindow is the most requests in any window of length w.
func maxInWindow(at []time.Time, w time.Duration) int {
	at = slices.Clone(at)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

func createWith(st *rig.Stack, name, endpoint string, limits map[string]any) {
	cfg := map[string]any{"endpoint": endpoint, "timeout": 10}
	maps.Copy(cfg, limits)
	st.CreateWebhookWith(name, name+".*", cfg)
}

func postBacklog(tb testing.TB, st *rig.Stack, typ string, n int) {
	tb.Helper()
	produce(tb, st.API.URL, "", typ, n, 8, 0, func(id string) string {
		return fmt.Sprintf(`{"id":%q,"type":%q}`, id, typ+".created")
	})
}

// BenchmarkWebhookLimits: rateLimit 20/s (WEBHOOKD_BENCH_RATE_LIMIT) with a
// backlog pending, served by one worker and by two worker processes (most
// requests in any 1 s window at the receiver, target ≤ limit+1; sustained
// rate ÷ limit, target ≥ 0.9; most in flight), the same backlog to the same
// receiver without limits (the baseline: what the machine delivers flat
// out, which must exceed the limit for the targets to mean anything), and
// maxConcurrency 2 against a receiver answering after 50 ms (most requests
// ever in flight, target 2), beside the default maxConcurrency (10).
func BenchmarkWebhookLimits(b *testing.B) {
	pending := envInt("WEBHOOKD_BENCH_LIMIT_PENDING", 1000)
	limit := envInt("WEBHOOKD_BENCH_RATE_LIMIT", 20)
	b.Run("baseline", func(b *testing.B) {
		// No rateLimit, and a maxConcurrency no backlog reaches.
		at, _ := runBacklog(b, pending, map[string]any{"maxConcurrency": 1000}, false)
		flat := float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds()
		b.ReportMetric(flat, "requests/s")
		b.ReportMetric(flat/float64(limit), "flat-out÷limit")
		b.Logf("%d cores, load %s, %d pending without limits: %.1f requests/s flat out (%.2f× the limit %d/s)",
			runtime.NumCPU(), loadAvg(), pending, flat, flat/float64(limit), limit)
	})
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("rateLimit%d/workers=%d", limit, workers), func(b *testing.B) {
			at, most := runBacklog(b, pending, map[string]any{"rateLimit": limit}, workers == 2)
			// Sustained: the rate over the backlog after its first second.
			sustained := float64(len(at)-limit-1) / at[len(at)-1].Sub(at[limit]).Seconds()
			window := maxInWindow(at, time.Second)
			b.ReportMetric(float64(window), "max-per-1s-window")
			b.ReportMetric(sustained/float64(limit), "sustained÷limit")
			b.ReportMetric(float64(most), "max-in-flight")
			b.Logf("%d cores, load %s, %d pending at rateLimit %d/s, %d worker process(es): most in any 1 s window %d, sustained %.2f/s (%.3f of the limit), most in flight %d, %d requests",
				runtime.NumCPU(), loadAvg(), pending, limit, workers, window, sustained, sustained/float64(limit), most, len(at))
		})
	}
	// What a receiver answering after 50 ms gets flat out under the
	// default maxConcurrency (10), and under maxConcurrency 2.
	n := min(pending, 300)
	var capped float64
	for _, c := range []int{store.DefaultMaxConcurrency, 2} {
		b.Run(fmt.Sprintf("maxConcurrency%d", c), func(b *testing.B) {
			st := rig.NewStack(b)
			rc := newPaced(b, 50*time.Millisecond, 0)
			createWith(st, "narrow", rc.URL, map[string]any{"maxConcurrency": c})
			t0 := time.Now()
			postBacklog(b, st, "narrow", n)
			rc.waitAccepted(b, n, 10*time.Minute)
			rps := float64(n) / time.Since(t0).Seconds()
			if c != 2 {
				capped = rps
			}
			b.ReportMetric(float64(rc.most), "max-in-flight")
			b.ReportMetric(rps, "requests/s")
			b.Logf("%d cores, load %s, %d pending at maxConcurrency %d (receiver answers after 50 ms): most in flight %d; %.1f requests/s (the cap allows %d; %.2f of maxConcurrency %d)",
				runtime.NumCPU(), loadAvg(), n, c, rc.most, rps, c*20, rps/capped, store.DefaultMaxConcurrency)
		})
	}
}

// runBacklog sends a backlog of pending events to one webhook with the
// given limits (its own stack; with a second worker process when two is
// set: two worker processes) and returns when the receiver got each request, sorted, and the
// most it had in flight.
func runBacklog(b *testing.B, pending int, limits map[string]any, two bool) ([]time.Time, int) {
	st := rig.NewStack(b)
	var children []*rig.ChildWorker
	if two {
		// Two worker processes and none in this one: the in-process
		// worker would take every delivery's first task eagerly (the
		// starter's client starts workflows on it) and keep it.
		st.Worker.Stop()
		children = []*rig.ChildWorker{st.StartChildWorker(b), st.StartChildWorker(b)}
	}
	rc := newPaced(b, 0, 0)
	createWith(st, "paced", rc.URL, limits)
	postBacklog(b, st, "paced", pending)
	rc.waitAccepted(b, pending, time.Duration(pending)*time.Second+time.Minute)
	for i, c := range children {
		b.Logf("worker process %d made %.0f of %d attempts", i+1, c.Counter(b, telemetry.AttemptsTotal), pending)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	at := slices.Clone(rc.at)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	return at, rc.most
}

// BenchmarkThrottleStorm: a receiver that can take 10 requests/s and answers
// 429 (Retry-After: 1) beyond, sent a burst of events with every retry after
// 1 s: requests sent per accepted event, and how many reached the
// dead-letter queue. It uses no webhookd limit, so that it runs unchanged
// on a build from before the adaptive slow-down (the baseline).
func BenchmarkThrottleStorm(b *testing.B) {
	n := envInt("WEBHOOKD_BENCH_STORM", 300)
	st := rig.NewStack(b, time.Second, time.Second, time.Second, time.Second, time.Second, time.Second)
	rc := newPaced(b, 0, 10)
	createWith(st, "storm", rc.URL, nil)
	t0 := time.Now()
	postBacklog(b, st, "storm", n)
	deadline := time.Now().Add(10 * time.Minute)
	var done int64
	for time.Now().Before(deadline) {
		var err error
		done, err = st.Store.CountDeliveries(b.Context(), store.DeliveryQuery{Status: models.DeliverySucceeded})
		if err != nil {
			b.Fatal(err)
		}
		failed, err := st.Store.CountDeliveries(b.Context(), store.DeliveryQuery{Status: models.DeliveryFailed})
		if err != nil {
			b.Fatal(err)
		}
		if done+failed >= int64(n) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(t0)
	rc.mu.Lock()
	sent, throttled := len(rc.at), rc.throttled
	rc.mu.Unlock()
	perAccepted := float64(sent) / float64(max(done, 1))
	b.ReportMetric(perAccepted, "requests/accepted")
	b.ReportMetric(float64(int64(n)-done), "dead-lettered")
	b.Logf("%d cores, %d events to a receiver taking 10/s: %d requests, %d answered 429 (%.0f%%), %d delivered, %d dead-lettered, %.2f requests per accepted, in %v",
		runtime.NumCPU(), n, sent, throttled, 100*float64(throttled)/float64(max(sent, 1)), done, int64(n)-done, perAccepted, took.Round(time.Second))
}
