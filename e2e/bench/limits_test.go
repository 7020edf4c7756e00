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
// backlog pending (most requests in any 1 s window, target ≤ limit+1;
// sustained rate ÷ limit, target ≥ 0.9 where the machine delivers more than
// the limit unlimited), the same backlog without limits (the baseline), and
// maxConcurrency 2 (most requests ever in flight, target 2).
func BenchmarkWebhookLimits(b *testing.B) {
	pending := envInt("WEBHOOKD_BENCH_LIMIT_PENDING", 1000)
	limit := envInt("WEBHOOKD_BENCH_RATE_LIMIT", 20)
	b.Run(fmt.Sprintf("rateLimit%d", limit), func(b *testing.B) {
		st := rig.NewStack(b)
		rc := newPaced(b, 0, 0)
		createWith(st, "paced", rc.URL, map[string]any{"rateLimit": limit})
		postBacklog(b, st, "paced", pending)
		rc.waitAccepted(b, pending, time.Duration(pending)*time.Second+time.Minute)
		rc.mu.Lock()
		at := slices.Clone(rc.at)
		rc.mu.Unlock()
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		// Sustained: the rate over the backlog after its first second.
		sustained := float64(len(at)-limit-1) / at[len(at)-1].Sub(at[limit]).Seconds()
		b.ReportMetric(float64(maxInWindow(at, time.Second)), "max-per-1s-window")
		b.ReportMetric(sustained/float64(limit), "sustained÷limit")
		b.Logf("%d cores, %d pending at rateLimit %d/s: most in any 1 s window %d, sustained %.2f/s (%.3f of the limit)",
			runtime.NumCPU(), pending, limit, maxInWindow(at, time.Second), sustained, sustained/float64(limit))
	})
	// The baseline: the same backlog to a webhook without limits.
	var baseline float64
	b.Run("unlimited", func(b *testing.B) {
		st := rig.NewStack(b)
		rc := newPaced(b, 50*time.Millisecond, 0)
		createWith(st, "open", rc.URL, nil)
		n := min(pending, 300)
		t0 := time.Now()
		postBacklog(b, st, "open", n)
		rc.waitAccepted(b, n, 10*time.Minute)
		baseline = float64(n) / time.Since(t0).Seconds()
		b.ReportMetric(baseline, "requests/s")
		b.Logf("%d cores, %d pending without limits (receiver answers after 50 ms): %.1f requests/s, most in flight %d",
			runtime.NumCPU(), n, baseline, rc.most)
	})
	b.Run("maxConcurrency2", func(b *testing.B) {
		st := rig.NewStack(b)
		rc := newPaced(b, 50*time.Millisecond, 0)
		createWith(st, "narrow", rc.URL, map[string]any{"maxConcurrency": 2})
		n := min(pending, 300)
		t0 := time.Now()
		postBacklog(b, st, "narrow", n)
		rc.waitAccepted(b, n, 10*time.Minute)
		took := time.Since(t0)
		rps := float64(n) / took.Seconds()
		b.ReportMetric(float64(rc.most), "max-in-flight")
		b.ReportMetric(rps/baseline, "throughput÷unlimited")
		b.Logf("%d cores, %d pending at maxConcurrency 2 (receiver answers after 50 ms): most in flight %d; %.1f requests/s (the cap allows 40; %.2f of the unlimited run)",
			runtime.NumCPU(), n, rc.most, rps, rps/baseline)
	})
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
