package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// gauge is a receiver that counts requests in flight and remembers the
// most it ever had, answering with answer(n) after hold.
type gauge struct {
	*httptest.Server
	mu             sync.Mutex
	inFlight, most int
	arrivals       []time.Time
}

func newGauge(t *testing.T, hold time.Duration, answer func(r *http.Request) int) *gauge {
	g := &gauge{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.inFlight++
		g.most = max(g.most, g.inFlight)
		g.arrivals = append(g.arrivals, time.Now())
		g.mu.Unlock()
		time.Sleep(hold)
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
		w.WriteHeader(answer(r))
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gauge) snapshot() (most int, arrivals []time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most, append([]time.Time(nil), g.arrivals...)
}

func (g *gauge) waitArrivals(t *testing.T, n int, within time.Duration) []time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, a := g.snapshot(); len(a) >= n {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, a := g.snapshot()
	t.Fatalf("%d requests arrived within %s, want %d", len(a), within, n)
	return nil
}

// createLimited makes a webhook for order.* with the given webhookConfig
// limits and returns its id.
func createLimited(st *rig.Stack, name, endpoint string, limits map[string]any) string {
	cfg := map[string]any{"endpoint": endpoint, "timeout": 10}
	maps.Copy(cfg, limits)
	return st.CreateWebhookWith(name, "order.*", cfg)
}

// TestMaxConcurrencyHoldsAcrossWorkersRetriesAndReplays: a webhook with
// maxConcurrency 2, served by two worker processes, never has more than 2
// requests in flight at its receiver: first attempts, their retries and a
// replay of every delivery at once.
func TestMaxConcurrencyHoldsAcrossWorkersRetriesAndReplays(t *testing.T) {
	st := rig.NewStack(t, time.Second)
	st.StartChildWorker(t)
	// Each event's first attempt fails (500), its retry succeeds.
	g := newGauge(t, 300*time.Millisecond, func(r *http.Request) int {
		if r.Header.Get("X-Webhook-Attempt") == "1" {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	createLimited(st, "two-at-a-time", g.URL, map[string]any{"maxConcurrency": 2})
	var deliveries []string
	for i := range 8 {
		in := st.PostEvent(fmt.Sprintf("evt-limit-%d", i), "order.created")
		deliveries = append(deliveries, in.Deliveries[0].ID)
	}
	for _, id := range deliveries {
		st.WaitDelivery(id, "succeeded", 90*time.Second)
	}
	for _, id := range deliveries {
		if code := st.Call("POST", "/api/v1/deliveries/"+id+"/replay", nil, nil); code != 202 {
			t.Fatalf("replay %s: %d", id, code)
		}
	}
	g.waitArrivals(t, 24, 90*time.Second)
	if most, _ := g.snapshot(); most != 2 {
		t.Fatalf("the receiver had up to %d requests in flight, want 2 (maxConcurrency)", most)
	}
}

// TestRateLimitedWaitSurvivesWorkerKill: deliveries waiting for their
// webhook's rate (durable timers) are sent at that rate by a new worker
// after the one that held them is killed with SIGKILL.
func TestRateLimitedWaitSurvivesWorkerKill(t *testing.T) {
	st := rig.NewStack(t)
	st.Worker.Stop() // only the child process works, until it is killed
	child := st.StartChildWorker(t).Process
	g := newGauge(t, 0, func(*http.Request) int { return http.StatusOK })
	const interval = 2 * time.Second
	createLimited(st, "slow-pace", g.URL, map[string]any{"rateLimit": 0.5})
	var deliveries []string
	for i := range 3 {
		deliveries = append(deliveries, st.PostEvent(fmt.Sprintf("evt-pace-%d", i), "order.created").Deliveries[0].ID)
	}
	g.waitArrivals(t, 1, 30*time.Second)
	// The others wait for the rate, and say so.
	waiting := 0
	deadline := time.Now().Add(10 * time.Second)
	for waiting == 0 && time.Now().Before(deadline) {
		for _, id := range deliveries {
			var d struct {
				WaitingFor string `json:"waitingFor"`
			}
			st.Call("GET", "/api/v1/deliveries/"+id, nil, &d)
			if d.WaitingFor == "rateLimit" {
				waiting++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if waiting == 0 {
		t.Fatal("no delivery showed waitingFor rateLimit")
	}
	child.Kill(t)
	st.StartWorker()
	arrivals := g.waitArrivals(t, 3, 60*time.Second)
	for i := 1; i < len(arrivals); i++ {
		// The limiter spaces slots exactly; allow for clock reads.
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < interval-100*time.Millisecond {
			t.Fatalf("requests %d and %d came %s apart under rateLimit 0.5/s (%v)", i-1, i, gap, arrivals)
		}
	}
	for _, id := range deliveries {
		if d := st.WaitDelivery(id, "succeeded", 30*time.Second); d.Attempts != 1 {
			t.Fatalf("delivery %s took %d attempts: a wait for the rate is none", id, d.Attempts)
		}
	}
}
