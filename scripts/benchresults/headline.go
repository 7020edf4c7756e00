package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// headline is one row of the Performance table (docs/performance.md): a
// number computed from one run's metrics, beside its target. A parent
// benchmark's own metrics are not printed once it has sub-benchmarks, so
// most ratios are computed here from the sub-benchmarks' numbers. Labels
// give the default sizes. A run with other sizes says so in its run line
// (Run.Settings): some sizes rename sub-benchmarks, whose rows then show
// "–" (FanOut, IngestManyWebhooks, WebhookLimits), others only change the
// numbers under the same label (OrderedDelivery, AwaitingRetry,
// ConsolePages, ThrottleStorm, the bursts).
type headline struct {
	what   string
	value  func(metrics) (float64, bool)
	unit   string // appended to the number: "×", " ms", " s", " MB", ""
	count  bool   // a count: shown without decimals
	target string // "" when the number has none (reported to compare runs)
	met    func(float64) bool
}

// metrics holds one run's meaningful numbers by "benchmark unit".
type metrics map[string]float64

func metricsOf(r Run) metrics {
	m := metrics{}
	for _, res := range r.Benchmarks {
		for _, v := range res.Metrics {
			if res.meaningful(v) {
				m[res.Name+" "+v.Unit] = v.Value
			}
		}
	}
	return m
}

func (m metrics) get(name, unit string) (float64, bool) {
	v, ok := m[name+" "+unit]
	return v, ok
}

// one is a metric as reported.
func one(name, unit string) func(metrics) (float64, bool) {
	return func(m metrics) (float64, bool) { return m.get(name, unit) }
}

// measured is a metric whose zero or negative value means the benchmark
// could not measure it (an RSS it could not read is -1, a ratio without
// its baseline 0): shown as missing, never as a target met.
func measured(name, unit string) func(metrics) (float64, bool) {
	return func(m metrics) (float64, bool) {
		v, ok := m.get(name, unit)
		return v, ok && v > 0
	}
}

// ratioOf is a's metric ÷ b's, when both ran.
func ratioOf(a, unitA, b, unitB string) func(metrics) (float64, bool) {
	return func(m metrics) (float64, bool) {
		x, okX := m.get(a, unitA)
		y, okY := m.get(b, unitB)
		if !okX || !okY || y <= 0 {
			return 0, false
		}
		return x / y, true
	}
}

// worst is the largest of a metric over several benchmarks, when all ran.
func worst(unit string, names ...string) func(metrics) (float64, bool) {
	return func(m metrics) (float64, bool) {
		most := 0.0
		for _, n := range names {
			v, ok := m.get(n, unit)
			if !ok {
				return 0, false
			}
			most = max(most, v)
		}
		return most, true
	}
}

func atMost(limit float64) func(float64) bool  { return func(v float64) bool { return v <= limit } }
func atLeast(limit float64) func(float64) bool { return func(v float64) bool { return v >= limit } }
func below(limit float64) func(float64) bool   { return func(v float64) bool { return v < limit } }
func above(limit float64) func(float64) bool   { return func(v float64) bool { return v > limit } }

// neighbours are a noisy-neighbour benchmark's rows: each case's quiet
// p99 ÷ the idle one (≤ 2), and the worst case's p99 (under 1 s).
func neighbours(bench, layout string) []headline {
	short := strings.TrimPrefix(bench, "Benchmark")
	var rows []headline
	for _, c := range []string{"slow", "timeout", "burst"} {
		rows = append(rows, headline{
			what:  fmt.Sprintf("`%s`%s, %s case: the quiet tenant's event → receiver p99 ÷ idle", short, layout, c),
			value: ratioOf(bench+"/"+c, "quiet-p99-ms", bench+"/idle", "quiet-p99-ms"), unit: "×",
			target: "≤ 2", met: atMost(2),
		})
	}
	return append(rows, headline{
		what:  fmt.Sprintf("`%s`: the quiet tenant's p99, worst of the three cases", short),
		value: worst("quiet-p99-ms", bench+"/slow", bench+"/timeout", bench+"/burst"), unit: " ms",
		target: "< 1,000 ms", met: below(1000),
	})
}

var headlines = slices.Concat([]headline{
	{what: "`Burst` (dev layout, SQLite): a burst of events from 16 producers, accepted/s ÷ delivered/s", value: one("BenchmarkBurst/sqlite", "accepted÷delivered"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`Burst` (PostgreSQL store): accepted/s ÷ delivered/s", value: one("BenchmarkBurst/postgres", "accepted÷delivered"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`Burst` (PostgreSQL store): ingest p99", value: one("BenchmarkBurst/postgres", "ingest-p99-ms"), unit: " ms"},
	{what: "`FanOut`: answer to an event matching 1,000 webhooks ÷ matching 1", value: ratioOf("BenchmarkFanOut/webhooks=1000", "answer-p50-ms", "BenchmarkFanOut/webhooks=1", "answer-p50-ms"), unit: "×", target: "≤ 10", met: atMost(10)},
	{what: "`IngestManyWebhooks`: ingest p50 with 10,000 webhooks ÷ with 1", value: ratioOf("BenchmarkIngestManyWebhooks/webhooks=10000", "ingest-p50-ms", "BenchmarkIngestManyWebhooks/webhooks=1", "ingest-p50-ms"), unit: "×", target: "≤ 1.5", met: atMost(1.5)},
	{what: "`BatchedDelivery`: events/s in batches of up to 100 ÷ one per request, 16 producers", value: ratioOf("BenchmarkBatchedDelivery/batching=true", "events/s", "BenchmarkBatchedDelivery/batching=false", "events/s"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`IngestValidation`: ingest p50 with schema validation ÷ without", value: one("BenchmarkIngestValidation", "ratio"), unit: "×", target: "≤ 1.3", met: atMost(1.3)},
	{what: "`IngestContentFilters`: ingest p50, 1,000 webhooks routing by content ÷ 1,000 routing by type", value: one("BenchmarkIngestContentFilters", "ratio"), unit: "×", target: "≤ 1.5", met: atMost(1.5)},
	{what: "`ConsolePages`: slowest console page, a webhook with 100,000 deliveries", value: one("BenchmarkConsolePages", "slowest-page-ms"), unit: " ms", target: "≤ 200 ms", met: atMost(200)},
	{what: "`DeliveryThroughput` (dev layout): webhookd ÷ the naive workflow, flat out", value: one("BenchmarkDeliveryThroughput", "throughput-ratio"), unit: "×"},
	{what: "`WebhookLimits`: the receiver's flat-out rate without limits ÷ the limit of 20/s (must be over 1 for the rows below to mean anything)", value: one("BenchmarkWebhookLimits/baseline", "flat-out÷limit"), unit: "×", target: "> 1", met: above(1)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 1 worker: most requests in any 1 s", value: one("BenchmarkWebhookLimits/rateLimit20/workers=1", "max-per-1s-window"), count: true, target: "≤ 21", met: atMost(21)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 1 worker: sustained ÷ limit", value: one("BenchmarkWebhookLimits/rateLimit20/workers=1", "sustained÷limit"), unit: "×", target: "≥ 0.9", met: atLeast(0.9)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 2 workers: most requests in any 1 s", value: one("BenchmarkWebhookLimits/rateLimit20/workers=2", "max-per-1s-window"), count: true, target: "≤ 21", met: atMost(21)},
	{what: "`WebhookLimits`: `rateLimit` 20/s, 2 workers: sustained ÷ limit", value: one("BenchmarkWebhookLimits/rateLimit20/workers=2", "sustained÷limit"), unit: "×", target: "≥ 0.9", met: atLeast(0.9)},
	{what: "`WebhookLimits`: `maxConcurrency` 2: most requests in flight", value: one("BenchmarkWebhookLimits/maxConcurrency2", "max-in-flight"), count: true, target: "≤ 2", met: atMost(2)},
	{what: "`ThrottleStorm`: requests per delivered event, a receiver taking 10/s and answering 429 to the rest", value: one("BenchmarkThrottleStorm", "requests/accepted")},
	{what: "`ThrottleStorm`: events not delivered within 10 minutes (dead-lettered or late)", value: one("BenchmarkThrottleStorm", "dead-lettered"), count: true, target: "0", met: atMost(0)},
}, neighbours("BenchmarkNoisyNeighbour", " (dev layout)"), []headline{
	{what: "`OrderedDelivery`: ordered over 100 keys ÷ unordered, events/s", value: one("BenchmarkOrderedDelivery/throughput", "keyed/unordered"), unit: "×", target: "≥ 0.5", met: atLeast(0.5)},
	{what: "`OrderedDelivery`: order violations, 10% of requests failing", value: one("BenchmarkOrderedDelivery/violations", "violations"), count: true, target: "0", met: atMost(0)},
	{what: "`Breaker`: requests to a receiver that is down, breaker on ÷ off", value: one("BenchmarkBreaker", "down-requests-with/without"), unit: "×"},
	{what: "`Breaker`: from the probe due to every held delivery delivered", value: one("BenchmarkBreaker", "release-s"), unit: " s"},
	{what: "`Breaker`: deliveries dead-lettered with the breaker on", value: one("BenchmarkBreaker", "dlq-with-breaker"), count: true, target: "0", met: atMost(0)},
	{what: "`ProductionLike` (`migrate`, `api`, `worker` apart, Temporal on PostgreSQL): webhookd ÷ the naive workflow, flat out", value: one("BenchmarkProductionLike", "throughput-ratio"), unit: "×", target: "≥ 1.5", met: atLeast(1.5)},
	{what: "`ProductionLike`: event → receiver p99 at half load", value: one("BenchmarkProductionLike", "half-load-p99-ms"), unit: " ms", target: "< 1,000 ms", met: below(1000)},
	{what: "`ProductionLike`: a burst's accepted/s ÷ delivered/s", value: one("BenchmarkProductionLike", "burst-accepted÷delivered"), unit: "×", target: "≥ 10", met: atLeast(10)},
	{what: "`ProductionLike`: longest first-attempt wait in that burst", value: one("BenchmarkProductionLike", "longest-first-attempt-wait-s"), unit: " s", target: "≤ 5 s", met: atMost(5)},
	{what: "`ProductionLike`: worker RSS after the burst", value: measured("BenchmarkProductionLike", "worker-rss-MB"), unit: " MB"},
}, neighbours("BenchmarkProductionNeighbours", " (`api` and `worker` apart)"), []headline{
	{what: "`ScaleOut`: two `api` and two `worker` ÷ one of each, throughput", value: measured("BenchmarkScaleOut/2api-2worker", "throughput÷1x1"), unit: "×"},
	{what: "`ScaleOut`: two of each ÷ one of each, p99 at the same rate", value: measured("BenchmarkScaleOut/2api-2worker", "p99÷1x1"), unit: "×"},
	{what: "`ScaleOut`, two of each: deliveries started twice", value: one("BenchmarkScaleOut/2api-2worker", "deliveries-started-twice"), count: true, target: "0", met: atMost(0)},
	{what: "`ScaleOut`, two of each: requests the receiver saw twice", value: one("BenchmarkScaleOut/2api-2worker", "requests-seen-twice"), count: true, target: "0", met: atMost(0)},
	{what: "`ScaleOut`, two of each: `maxConcurrency` 2, most requests in flight", value: one("BenchmarkScaleOut/2api-2worker", "maxConcurrency2-most-in-flight"), count: true, target: "≤ 2", met: atMost(2)},
	{what: "`ScaleOut`, two of each: `rateLimit` 10/s, most requests in any 1 s", value: one("BenchmarkScaleOut/2api-2worker", "rateLimit10-most-in-1s"), count: true, target: "≤ 11", met: atMost(11)},
	{what: "`AwaitingRetry`: 100,000 deliveries parked on retry timers, a restarted `webhookd dev`'s ingest p99 ÷ an empty one's", value: measured("BenchmarkAwaitingRetry/restart", "dev-p99-ratio"), unit: "×", target: "≤ 1.2", met: atMost(1.2)},
	{what: "`AwaitingRetry`: that `webhookd dev`'s RSS 20 s after its restart", value: measured("BenchmarkAwaitingRetry/restart", "dev-rss-MB"), unit: " MB", target: "< 512 MB", met: below(512)},
	{what: "`AwaitingRetry`: its restart, until ready", value: measured("BenchmarkAwaitingRetry/restart", "dev-restart-s"), unit: " s"},
	{what: "`Soak` (`api` and `worker` apart): worker RSS over the last window ÷ the first (a third of the soak, at most 5 minutes each)", value: measured("BenchmarkSoak", "worker-rss-ratio"), unit: "×", target: "≤ 1.1", met: atMost(1.1)},
	{what: "`Soak`: healthy deliveries' event → receiver p99, worst minute ÷ minute 1", value: measured("BenchmarkSoak", "healthy-p99-ratio"), unit: "×", target: "≤ 1.5", met: atMost(1.5)},
})

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
			v, ok := h.value(m)
			switch {
			case !ok:
				return "–"
			case h.count:
				return strconv.FormatFloat(v, 'f', 0, 64) + h.unit
			}
			return number(v) + h.unit
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
