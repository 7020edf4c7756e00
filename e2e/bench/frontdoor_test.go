package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// The front door's benchmarks (`make bench`), each a ratio against a
// baseline measured in the same run, on the dev-server shape: an embedded
// Temporal server on a SQLite file, the API, the starter and a worker in one
// process. Sizes come from WEBHOOKD_BENCH_* variables so a quick run is
// possible; the defaults are the sizes the README reports.

func devBenchStack(b *testing.B, sqliteStore bool) *rig.Stack {
	return rig.NewStackWith(b, rig.Options{TemporalFile: filepath.Join(b.TempDir(), "temporal.db"), SQLiteStore: sqliteStore})
}

// BenchmarkBurst: 10,000 events from 16 producers, as fast as they are
// answered. Producers wait on the database only, so events are accepted far
// faster than Temporal delivers them: accepted/s ÷ delivered/s (target ≥ 10).
func BenchmarkBurst(b *testing.B) {
	n := envInt("WEBHOOKD_BENCH_BURST", 10000)
	for _, c := range []struct {
		name   string
		sqlite bool
	}{{"sqlite", true}, {"postgres", false}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				st := devBenchStack(b, c.sqlite)
				rc := newEventReceiver(b)
				st.CreateWebhook("burst", rc.URL, rig.Secret)
				p := produce(b, st.API.URL, "", "burst", n, 16, 0, eventBody)
				last, _ := rc.waitFor(b, p.ids, 30*time.Minute)
				accepted := float64(len(p.ids)) / p.lastDone.Sub(p.start).Seconds()
				delivered := float64(len(p.ids)) / last.Sub(p.start).Seconds()
				b.ReportMetric(accepted, "accepted/s")
				b.ReportMetric(delivered, "delivered/s")
				b.ReportMetric(accepted/delivered, "accepted÷delivered")
				b.ReportMetric(ms(p.p(0.50)), "ingest-p50-ms")
				b.ReportMetric(ms(p.p(0.99)), "ingest-p99-ms")
				b.ReportMetric(float64(p.errors), "errors")
				b.Logf("%s, %d cores: %d events accepted at %.0f/s (p50 %v, p99 %v, %d errors), delivered at %.1f/s: ratio %.1f",
					c.name, runtime.NumCPU(), len(p.ids), accepted, p.p(0.5), p.p(0.99), p.errors, delivered, accepted/delivered)
			}
		})
	}
}

// BenchmarkFanOut: the time to answer one event matching 1,000 webhooks ÷
// one matching 1 (target ≤ 10). The answer waits for the commit only.
func BenchmarkFanOut(b *testing.B) {
	fan := envInt("WEBHOOKD_BENCH_FANOUT", 1000)
	samples := envInt("WEBHOOKD_BENCH_FANOUT_SAMPLES", 7)
	answer := func(webhooks int) (median time.Duration) {
		// A sub-benchmark of its own, so that its stack (Temporal server,
		// worker, deliveries in flight) is gone before the next one starts.
		b.Run(fmt.Sprintf("webhooks=%d", webhooks), func(b *testing.B) {
			median = fanOutAnswer(b, webhooks, samples)
			// Reported here too: a parent benchmark's own lines are not
			// printed once it has sub-benchmarks.
			b.ReportMetric(ms(median), "answer-p50-ms")
		})
		return median
	}
	for range b.N {
		one := answer(1)
		many := answer(fan)
		b.ReportMetric(ms(one), "one-ms")
		b.ReportMetric(ms(many), fmt.Sprintf("%d-ms", fan))
		b.ReportMetric(float64(many)/float64(one), "ratio")
		b.Logf("%d cores: one event → 1 webhook answered in %v, → %d webhooks in %v (median of %d): ratio %.1f",
			runtime.NumCPU(), one, fan, many, samples, float64(many)/float64(one))
	}
}

func fanOutAnswer(b *testing.B, webhooks, samples int) time.Duration {
	st := devBenchStack(b, false)
	rc := newEventReceiver(b)
	createWebhooks(b, st, rc.URL, webhooks, 0)
	var lat []time.Duration
	for i := range samples {
		// Each event is posted once the previous one's deliveries have all
		// arrived: the answer of an event on a quiet system, not of one
		// that competes with a thousand deliveries in flight.
		for deadline := time.Now().Add(10 * time.Minute); rc.requests.Load() < int64(i*webhooks); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("sample %d: %d of %d deliveries arrived", i, rc.requests.Load(), i*webhooks)
			}
		}
		// ...and their workflows have recorded them.
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			n, err := st.Store.CountDeliveries(context.Background(), store.DeliveryQuery{Status: models.DeliverySucceeded})
			if err != nil || n >= int64(i*webhooks) {
				break
			}
		}
		t0 := time.Now()
		postJSON(b, st.API.URL+"/api/v1/events", "", eventBody(fmt.Sprintf("fan-%d-%d", webhooks, i)), 202)
		lat = append(lat, time.Since(t0))
	}
	b.Logf("%d webhooks: answers %v (median %v, spread %v–%v)", webhooks, lat, percentile(lat, 0.5), slices.Min(lat), slices.Max(lat))
	return percentile(lat, 0.5)
}

// BenchmarkIngestManyWebhooks: ingest p50 with 10,000 webhooks configured
// (one matching) ÷ with 1 (target ≤ 1.5): the matcher keeps them in memory,
// indexed by event type, instead of reading them per event.
func BenchmarkIngestManyWebhooks(b *testing.B) {
	many := envInt("WEBHOOKD_BENCH_WEBHOOKS", 10000)
	posts := envInt("WEBHOOKD_BENCH_POSTS", 300)
	p50 := func(webhooks int) (p50, p99 time.Duration) {
		b.Run(fmt.Sprintf("webhooks=%d", webhooks), func(b *testing.B) {
			st := devBenchStack(b, false)
			rc := newEventReceiver(b)
			createWebhooks(b, st, rc.URL, 1, 0)
			createWebhooks(b, st, rc.URL, webhooks-1, 1)
			// Sequential posts: latency, not throughput.
			p := produce(b, st.API.URL, "", fmt.Sprintf("many-%d", webhooks), posts, 1, 0, eventBody)
			p50, p99 = p.p(0.5), p.p(0.99)
			b.ReportMetric(ms(p50), "ingest-p50-ms")
			b.ReportMetric(ms(p99), "ingest-p99-ms")
		})
		return p50, p99
	}
	for range b.N {
		one, one99 := p50(1)
		lots, lots99 := p50(many)
		b.ReportMetric(ms(one), "one-p50-ms")
		b.ReportMetric(ms(lots), "many-p50-ms")
		b.ReportMetric(float64(lots)/float64(one), "ratio")
		b.Logf("%d cores: ingest p50 %v (p99 %v) with 1 webhook, %v (p99 %v) with %d: ratio %.2f",
			runtime.NumCPU(), one, one99, lots, lots99, many, float64(lots)/float64(one))
	}
}

// createWebhooks stores n webhooks pointing at endpoint. kind 0 matches
// every event; kind 1 matches none (exact types, and one in ten a glob that
// must be evaluated).
func createWebhooks(b *testing.B, st *rig.Stack, endpoint string, n, kind int) {
	b.Helper()
	ctx := context.Background()
	now := store.Now()
	for i := range n {
		filters := []models.EventFilter{{EventType: "*"}}
		if kind == 1 {
			filters = []models.EventFilter{{EventType: fmt.Sprintf("other.%d", i)}}
			if i%10 == 0 {
				filters = []models.EventFilter{{EventType: fmt.Sprintf("other.%d.*", i)}}
			}
		}
		w := &models.Webhook{ID: uuid.NewString(), Name: fmt.Sprintf("hook-%d-%d", kind, i), WebhookType: models.WebhookGeneric,
			Enabled: true, Status: models.WebhookActive, BatchSize: 10, BatchMaxWaitMs: 1000, TimeoutSeconds: 10, Version: 0.1,
			EventFilters: filters, Endpoint: endpoint, CreatedAt: now, UpdatedAt: now}
		if err := st.Store.CreateWebhook(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	st.Parts.Ingester.Matcher.Invalidate(models.DefaultTenant)
}

// BenchmarkBatchedDelivery: events/s delivered end to end to a webhook that
// takes batches of 100 ÷ to one that takes one event per request (target
// ≥ 10): one workflow carries a hundred events.
func BenchmarkBatchedDelivery(b *testing.B) {
	batched := envInt("WEBHOOKD_BENCH_BATCHED", 10000)
	single := envInt("WEBHOOKD_BENCH_SINGLE", 1000)
	rate := func(batch bool, n int) (perSecond float64) {
		b.Run(fmt.Sprintf("batching=%v", batch), func(b *testing.B) { perSecond = batchedRate(b, batch, n) })
		return perSecond
	}
	for range b.N {
		one := rate(false, single)
		hundred := rate(true, batched)
		b.ReportMetric(one, "single-events/s")
		b.ReportMetric(hundred, "batched-events/s")
		b.ReportMetric(hundred/one, "ratio")
		b.Logf("%d cores: batches of 100 deliver %.0f events/s, one per request %.1f/s: ratio %.1f",
			runtime.NumCPU(), hundred, one, hundred/one)
	}
}

func batchedRate(b *testing.B, batch bool, n int) float64 {
	{
		st := devBenchStack(b, false)
		rc := newEventReceiver(b)
		hook := map[string]any{
			"name": "batched", "webhookType": "Generic", "batchSize": 100,
			"eventFilters":  []any{map[string]any{"eventType": "*"}},
			"webhookConfig": map[string]any{"endpoint": rc.URL, "secretKey": rig.Secret},
		}
		if batch {
			hook["webhookConfig"].(map[string]any)["batching"] = map[string]any{"enabled": true, "maxWaitMs": 1000}
		}
		if code := st.Call("POST", "/api/v1/webhooks", hook, nil); code != 201 {
			b.Fatalf("create webhook: %d", code)
		}
		p := produce(b, st.API.URL, "", fmt.Sprintf("batch-%v", batch), n, 16, 0, eventBody)
		last, _ := rc.waitFor(b, p.ids, 30*time.Minute)
		perSecond := float64(len(p.ids)) / last.Sub(p.start).Seconds()
		b.ReportMetric(perSecond, "events/s")
		b.ReportMetric(ms(p.p(0.99)), "ingest-p99-ms")
		b.Logf("batching %v: %d events in %d requests, delivered at %.1f events/s (ingest p99 %v)",
			batch, len(p.ids), rc.requests.Load(), perSecond, p.p(0.99))
		return perSecond
	}
}
