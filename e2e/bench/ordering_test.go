package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// BenchmarkOrderedDelivery: docs/operations.md, "Ordered delivery" numbers, each
// against a baseline of the same run. throughput: N events
// (WEBHOOKD_BENCH_ORDERED, default 1,000) to an unordered webhook, then over
// 100 keys, then over one key (one sequence is one request at a time).
// violations: N events (WEBHOOKD_BENCH_VIOLATIONS, default 10,000) over 100
// keys to a receiver failing 10% of requests at random; every request is
// checked against the order.
func BenchmarkOrderedDelivery(b *testing.B) {
	n := envInt("WEBHOOKD_BENCH_ORDERED", 1000)
	b.Run("throughput", func(b *testing.B) {
		st := rig.NewStack(b)
		rc := newEventReceiver(b)
		st.CreateTenantWebhook("default", "unordered", "u.*", rc.URL)
		createOrderedHook(b, st, "keyed", "k.*", "data.orderId", rc.URL)
		createOrderedHook(b, st, "single", "one.*", "webhook", rc.URL)
		rate := map[string]float64{}
		for _, run := range []struct{ name, typ string }{{"unordered", "u.created"}, {"100 keys", "k.created"}, {"1 key", "one.created"}} {
			p := produce(b, st.API.URL, "", strings.Fields(run.name)[0], n, 8, 0, func(id string) string {
				return fmt.Sprintf(`{"id":%q,"type":%q,"data":{"orderId":"o%d"}}`, id, run.typ, seqOf(id)%100)
			})
			last, _ := rc.waitFor(b, p.ids, 30*time.Minute)
			rate[run.name] = float64(len(p.ids)) / last.Sub(p.start).Seconds()
			b.Logf("%s: %d events delivered at %.1f/s", run.name, len(p.ids), rate[run.name])
		}
		b.ReportMetric(rate["100 keys"]/rate["unordered"], "keyed/unordered")
		b.ReportMetric(rate["1 key"]/rate["unordered"], "single/unordered")
	})
	b.Run("violations", func(b *testing.B) {
		events := envInt("WEBHOOKD_BENCH_VIOLATIONS", 10000)
		st := rig.NewStack(b, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond,
			100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond)
		rc := newOrderReceiver(b, 0.1)
		createOrderedHook(b, st, "keyed", "k.*", "data.orderId", rc.URL)
		// Each key's events are posted in order, by one producer per ten
		// keys: the order a key's events are accepted in is its order.
		var wg sync.WaitGroup
		for p := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := p; i < events; i += 10 {
					key := i % 100
					postJSON(b, st.API.URL+"/api/v1/events", "",
						fmt.Sprintf(`{"id":"o%d-%d","type":"k.created","data":{"orderId":"o%d"}}`, key, i/100, key), 202)
				}
			}()
		}
		wg.Wait()
		start := time.Now()
		for rc.delivered.Load() < int64(events) {
			if time.Since(start) > 30*time.Minute {
				b.Fatalf("%d of %d delivered", rc.delivered.Load(), events)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.Logf("%d events, %d requests (%d failed at random), %d order violations",
			events, rc.requests.Load(), rc.failed.Load(), rc.violations.Load())
		b.ReportMetric(float64(rc.violations.Load()), "violations")
	})
}

// BenchmarkBreaker: a receiver down for the breaker's threshold and a while
// (scaled: 20 failures over 10 s; events at 10/s for 30 s, six retries 5 s
// apart, so the receiver is down for about a minute): the requests it gets while down with the breaker and without;
// once it is back and the probe is due, the time until every held delivery
// succeeds, and events lost (never delivered, nor in the DLQ).
//
// The receiver answers 500 while down (WEBHOOKD_BENCH_DOWN_STATUS). A 503
// is a throttling answer: it halves the webhook's adaptive rate at each
// answer, and is retried after 1 s doubling rather than on the 5 s
// schedule, so the breaker's 20 failures in 10 s may never come; with 503
// the run measures how fast a receiver back from throttling answers gets
// its waiting deliveries.
func BenchmarkBreaker(b *testing.B) {
	wait := 5 * time.Second
	st := rig.NewStack(b, wait, wait, wait, wait, wait, wait)
	with, without := newEventReceiver(b), newEventReceiver(b)
	down := int32(envInt("WEBHOOKD_BENCH_DOWN_STATUS", 500))
	with.status.Store(down)
	without.status.Store(down)
	withID := st.CreateTenantWebhook("default", "breaker", "x.*", with.URL)
	noneID := st.CreateTenantWebhook("default", "nobreaker", "x.*", without.URL)
	setBreaker(b, st, withID, map[string]any{"failures": 20, "span": "10s"})
	setBreaker(b, st, noneID, map[string]any{"enabled": false})
	p := produce(b, st.API.URL, "", "x", 300, 1, 100*time.Millisecond, func(id string) string {
		return fmt.Sprintf(`{"id":%q,"type":"x.created"}`, id)
	})
	time.Sleep(6*wait + 2*time.Second) // the last retries without the breaker
	downWith, downWithout := with.requests.Load(), without.requests.Load()
	b.Logf("while down: %d requests with the breaker, %d without", downWith, downWithout)
	b.ReportMetric(float64(downWith)/float64(downWithout), "down-requests-with/without")

	with.status.Store(200)
	back := time.Now()
	if _, err := st.Store.StartDueProbes(context.Background(), back.Add(store.FirstProbeWait+time.Second)); err != nil {
		b.Fatal(err)
	}
	st.Dispatcher.Wake()
	ctx := context.Background()
	count := func(id string, status models.DeliveryStatus) int64 {
		n, err := st.Store.CountDeliveries(ctx, store.DeliveryQuery{WebhookID: id, Status: status})
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	held := count(withID, models.DeliveryHeld)
	for count(withID, models.DeliverySucceeded)+count(withID, models.DeliveryFailed) < int64(len(p.ids)) {
		if time.Since(back) > 10*time.Minute {
			b.Fatalf("%d of %d delivered 10 minutes after the receiver came back", count(withID, models.DeliverySucceeded), len(p.ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Logf("%d held deliveries (of %d events) delivered %v after the probe was due; without the breaker %d are in the DLQ",
		held, len(p.ids), time.Since(back), count(noneID, models.DeliveryFailed))
	b.ReportMetric(time.Since(back).Seconds(), "release-s")
	b.ReportMetric(float64(count(withID, models.DeliveryFailed)), "dlq-with-breaker")
}

func createOrderedHook(tb testing.TB, st *rig.Stack, name, filter, key, url string) {
	tb.Helper()
	var out map[string]any
	code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": name, "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": filter}},
		"webhookConfig": map[string]any{"endpoint": url, "ordering": map[string]any{"key": key}},
	}, &out)
	if code != 201 {
		tb.Fatalf("create %s: %d %v", name, code, out)
	}
}

func setBreaker(tb testing.TB, st *rig.Stack, id string, breaker map[string]any) {
	tb.Helper()
	var w map[string]any
	st.Call("GET", "/api/v1/webhooks/"+id, nil, &w)
	w["webhookConfig"].(map[string]any)["circuitBreaker"] = breaker
	if code := st.Call("PUT", "/api/v1/webhooks/"+id, w, &w); code != 200 {
		tb.Fatalf("circuitBreaker: %d %v", code, w)
	}
}

// seqOf is the number at the end of a produced event id (prefix-000042).
func seqOf(id string) int {
	var n int
	fmt.Sscan(id[strings.LastIndex(id, "-")+1:], &n)
	return n
}

// orderReceiver fails a share of requests at random and counts requests
// that break the order: an event o<k>-<n> before o<k>-<n-1> succeeded.
type orderReceiver struct {
	*httptest.Server
	mu                                      sync.Mutex
	done                                    map[string]int // key → events delivered in order
	requests, failed, delivered, violations atomic.Int64
}

func newOrderReceiver(tb testing.TB, failShare float64) *orderReceiver {
	r := &orderReceiver{done: map[string]int{}}
	rng := rand.New(rand.NewPCG(1, 2))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("X-Webhook-ID")
		cut := strings.LastIndex(id, "-")
		key, n := id[:cut], seqOf(id)+1
		r.requests.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if n > r.done[key]+1 {
			r.violations.Add(1)
		}
		if rng.Float64() < failShare {
			r.failed.Add(1)
			w.WriteHeader(503)
			return
		}
		if n == r.done[key]+1 {
			r.done[key] = n
			r.delivered.Add(1)
		}
	}))
	tb.Cleanup(r.Close)
	return r
}
