package main

import (
	"fmt"
	"strings"
)

// headline is one row of the Performance table (docs/performance.md): a
// number computed from one run's metrics, beside its target. A parent
// benchmark's own metrics are not printed once it has sub-benchmarks, so
// most ratios are computed here from the sub-benchmarks' numbers.
type headline struct {
	what   string
	value  func(metrics) (float64, bool)
	unit   string // appended to the number: "×", " ms", " s", " MB", ""
	target string // "" when the number has none (reported to compare runs)
	met    func(float64) bool
}

// metrics holds one run's numbers by "benchmark unit".
type metrics map[string]float64

func metricsOf(r Run) metrics {
	m := metrics{}
	for _, res := range r.Benchmarks {
		for _, v := range res.Metrics {
			m[res.Name+" "+v.Unit] = v.Value
		}
	}
	return m
}

// one is a metric as reported.
func one(name, unit string) func(metrics) (float64, bool) {
	return func(m metrics) (float64, bool) {
		v, ok := m[name+" "+unit]
		return v, ok
	}
}

// ratioOf is a's metric ÷ b's, when both ran.
func ratioOf(a, unitA, b, unitB string) func(metrics) (float64, bool) {
	return func(m metrics) (float64, bool) {
		x, okX := m[a+" "+unitA]
		y, okY := m[b+" "+unitB]
		if !okX || !okY || y <= 0 {
			return 0, false
		}
		return x / y, true
	}
}

func atMost(limit float64) func(float64) bool  { return func(v float64) bool { return v <= limit } }
func atLeast(limit float64) func(float64) bool { return func(v float64) bool { return v >= limit } }

// quietRatio is a noisy-neighbour case's quiet p99 ÷ the idle one.
func quietRatio(bench, c string) headline {
	return headline{
		what:  fmt.Sprintf("`%s` %s: the quiet tenant's p99 ÷ idle", strings.TrimPrefix(bench, "Benchmark"), c),
		value: ratioOf(bench+"/"+c, "quiet-p99-ms", bench+"/idle", "quiet-p99-ms"), unit: "×",
		target: "≤ 2", met: atMost(2),
	}
}

var headlines = []headline{
	{what: "`Burst` (dev layout, SQLite): 10,000 events accepted/s ÷ delivered/s", value: one("BenchmarkBurst/sqlite", "accepted÷delivered"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`Burst` (PostgreSQL store)", value: one("BenchmarkBurst/postgres", "accepted÷delivered"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`Burst` (PostgreSQL store): ingest p99", value: one("BenchmarkBurst/postgres", "ingest-p99-ms"), unit: " ms"},
	{what: "`FanOut`: answer to an event matching 1,000 webhooks ÷ matching 1", value: ratioOf("BenchmarkFanOut/webhooks=1000", "answer-p50-ms", "BenchmarkFanOut/webhooks=1", "answer-p50-ms"), unit: "×", target: "≤ 10", met: atMost(10)},
	{what: "`IngestManyWebhooks`: ingest p50 with 10,000 webhooks ÷ with 1", value: ratioOf("BenchmarkIngestManyWebhooks/webhooks=10000", "ingest-p50-ms", "BenchmarkIngestManyWebhooks/webhooks=1", "ingest-p50-ms"), unit: "×", target: "≤ 1.5", met: atMost(1.5)},
	{what: "`BatchedDelivery`: events/s in batches of 100 ÷ one per request, 16 producers", value: ratioOf("BenchmarkBatchedDelivery/batching=true", "events/s", "BenchmarkBatchedDelivery/batching=false", "events/s"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`IngestValidation`: ingest p50 with schema validation ÷ without", value: one("BenchmarkIngestValidation", "ratio"), unit: "×", target: "≤ 1.3", met: atMost(1.3)},
	{what: "`IngestContentFilters`: ingest p50 with 1,000 content filters ÷ without", value: one("BenchmarkIngestContentFilters", "ratio"), unit: "×", target: "≤ 1.5", met: atMost(1.5)},
	{what: "`ConsolePages`: slowest console page, 100,000 deliveries", value: one("BenchmarkConsolePages", "slowest-page-ms"), unit: " ms", target: "≤ 200 ms", met: atMost(200)},
	{what: "`DeliveryThroughput` (dev layout): webhookd ÷ the naive workflow, flat out", value: one("BenchmarkDeliveryThroughput", "throughput-ratio"), unit: "×", target: "≥ 1", met: atLeast(1)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 1 worker: most requests in any 1 s", value: one("BenchmarkWebhookLimits/rateLimit20/workers=1", "max-per-1s-window"), target: "≤ 21", met: atMost(21)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 1 worker: sustained ÷ limit", value: one("BenchmarkWebhookLimits/rateLimit20/workers=1", "sustained÷limit"), unit: "×", target: "≥ 0.9", met: atLeast(0.9)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 2 workers: most requests in any 1 s", value: one("BenchmarkWebhookLimits/rateLimit20/workers=2", "max-per-1s-window"), target: "≤ 21", met: atMost(21)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 2 workers: sustained ÷ limit", value: one("BenchmarkWebhookLimits/rateLimit20/workers=2", "sustained÷limit"), unit: "×", target: "≥ 0.9", met: atLeast(0.9)},
	{what: "`WebhookLimits`: `maxConcurrency` 2: most requests in flight", value: one("BenchmarkWebhookLimits/maxConcurrency2", "max-in-flight"), target: "2", met: atMost(2)},
	{what: "`ThrottleStorm`: requests per accepted one, receiver answering 429 beyond 10/s", value: one("BenchmarkThrottleStorm", "requests/accepted")},
	quietRatio("BenchmarkNoisyNeighbour", "slow"),
	quietRatio("BenchmarkNoisyNeighbour", "timeout"),
	quietRatio("BenchmarkNoisyNeighbour", "burst"),
	{what: "`OrderedDelivery`: ordered over 100 keys ÷ unordered, events/s", value: one("BenchmarkOrderedDelivery/throughput", "keyed/unordered"), unit: "×", target: "≥ 0.5", met: atLeast(0.5)},
	{what: "`OrderedDelivery`: order violations, 10% of requests failing", value: one("BenchmarkOrderedDelivery/violations", "violations"), target: "0", met: atMost(0)},
	{what: "`Breaker`: requests to a receiver that is down, breaker on ÷ off", value: one("BenchmarkBreaker", "down-requests-with/without"), unit: "×"},
	{what: "`ProductionLike` (`api`, `worker`, Temporal on PostgreSQL): webhookd ÷ the naive workflow, flat out", value: one("BenchmarkProductionLike", "throughput-ratio"), unit: "×", target: "≥ 1.5", met: atLeast(1.5)},
	{what: "`ProductionLike`: event → receiver p99 at half load", value: one("BenchmarkProductionLike", "half-load-p99-ms"), unit: " ms", target: "< 1,000 ms", met: atMost(999.999)},
	{what: "`ProductionLike`: burst of 10,000 accepted/s ÷ delivered/s", value: one("BenchmarkProductionLike", "burst-accepted÷delivered"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`ProductionLike`: longest first-attempt wait in that burst", value: one("BenchmarkProductionLike", "longest-first-attempt-wait-s"), unit: " s", target: "≤ 5 s", met: atMost(5)},
	quietRatio("BenchmarkProductionNeighbours", "slow"),
	quietRatio("BenchmarkProductionNeighbours", "timeout"),
	quietRatio("BenchmarkProductionNeighbours", "burst"),
	{what: "`ScaleOut`: two `api` and two `worker` ÷ one of each, throughput", value: one("BenchmarkScaleOut/2api-2worker", "throughput÷1x1"), unit: "×"},
	{what: "`ScaleOut`: deliveries started twice, two of each", value: one("BenchmarkScaleOut/2api-2worker", "deliveries-started-twice"), target: "0", met: atMost(0)},
	{what: "`AwaitingRetry`: 100,000 parked, a restarted `webhookd dev`'s ingest p99 ÷ an empty one's", value: one("BenchmarkAwaitingRetry/restart", "dev-p99-ratio"), unit: "×", target: "≤ 1.2", met: atMost(1.2)},
	{what: "`AwaitingRetry`: that `webhookd dev`'s RSS 20 s after its restart", value: one("BenchmarkAwaitingRetry/restart", "dev-rss-MB"), unit: " MB", target: "< 512 MB", met: atMost(511.999)},
	{what: "`Soak` (Temporal on PostgreSQL): worker RSS, last 5 minutes ÷ first 5", value: one("BenchmarkSoak", "worker-rss-ratio"), unit: "×", target: "≤ 1.1", met: atMost(1.1)},
	{what: "`Soak`: healthy deliveries' p99, worst minute ÷ minute 1", value: one("BenchmarkSoak", "healthy-p99-ratio"), unit: "×", target: "≤ 1.5", met: atMost(1.5)},
}

// headlineTable renders the Performance table: each headline in this run
// and the previous one, and whether this run met its target.
func headlineTable(f File) string {
	var b strings.Builder
	cur, prev := metricsOf(f.Current), metrics{}
	if f.Previous != nil {
		prev = metricsOf(*f.Previous)
	}
	b.WriteString("| measure | this run | previous run | target | met |\n|---|---|---|---|---|\n")
	for _, h := range headlines {
		show := func(m metrics) string {
			if v, ok := h.value(m); ok {
				return number(v) + h.unit
			}
			return "–"
		}
		met := ""
		if v, ok := h.value(cur); ok && h.met != nil {
			met = "yes"
			if !h.met(v) {
				met = "**no**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", h.what, show(cur), show(prev), h.target, met)
	}
	return b.String()
}
