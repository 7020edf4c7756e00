package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/models"
)

// Gauge names.
const (
	DeliveriesByStatus = "webhookd_deliveries"
	StartBacklog       = "webhookd_start_backlog"
	StartWindow        = "webhookd_start_window"
)

// RegisterStartWindow registers webhookd_start_window: the places of the
// start window this process's starter claims against now (size), which
// it adapts between START_WINDOW_MIN and START_WINDOW by how fast Temporal
// answers its start calls.
func RegisterStartWindow(reg prometheus.Registerer, size func() int) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: StartWindow,
		Help: "Places of the start window this process claims against now (adaptive, between START_WINDOW_MIN and START_WINDOW).",
	}, func() float64 { return float64(size()) }))
}

// DeliveryCounter counts deliveries in a status (served by a partial index
// for each status the gauges show).
type DeliveryCounter interface {
	CountByStatus(ctx context.Context, status models.DeliveryStatus) (int64, error)
	CountUndispatched(ctx context.Context) (int64, error)
}

// gaugedStatuses are the states an operator watches: work waiting to be
// done, and the dead-letter queue.
var gaugedStatuses = []models.DeliveryStatus{
	models.DeliveryPending, models.DeliveryAwaitingRetry, models.DeliveryHeld, models.DeliveryFailed,
}

// deliveryGauges reads the counts at most every maxAge, whatever the scrape
// interval and however many Prometheus servers scrape: each read is one
// index-only count per status.
type deliveryGauges struct {
	counter DeliveryCounter
	maxAge  time.Duration
	byStat  *prometheus.Desc
	backlog *prometheus.Desc

	mu      sync.Mutex
	read    time.Time
	counts  map[models.DeliveryStatus]int64
	pending int64
	failed  bool
}

// RegisterDeliveryGauges registers webhookd_deliveries{status} and
// webhookd_start_backlog, read from the database at most every maxAge. They
// describe the whole system, so each api process reports the same values:
// aggregate with max().
func RegisterDeliveryGauges(reg prometheus.Registerer, c DeliveryCounter, maxAge time.Duration) error {
	return reg.Register(&deliveryGauges{
		counter: c, maxAge: maxAge,
		byStat: prometheus.NewDesc(DeliveriesByStatus,
			"Deliveries by status: pending (waiting to start or for their first attempt), awaitingRetry, held (paused webhooks), failed (the dead-letter queue).",
			[]string{"status"}, nil),
		backlog: prometheus.NewDesc(StartBacklog,
			"Deliveries committed but not yet handed to Temporal (the outbox), open batches included.", nil, nil),
	})
}

func (g *deliveryGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.byStat
	ch <- g.backlog
}

func (g *deliveryGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.read) > g.maxAge {
		g.refresh()
	}
	if g.failed {
		return // no value beats a wrong one
	}
	for _, st := range gaugedStatuses {
		ch <- prometheus.MustNewConstMetric(g.byStat, prometheus.GaugeValue, float64(g.counts[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(g.backlog, prometheus.GaugeValue, float64(g.pending))
}

func (g *deliveryGauges) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[models.DeliveryStatus]int64{}
	g.failed = true
	for _, st := range gaugedStatuses {
		n, err := g.counter.CountByStatus(ctx, st)
		if err != nil {
			return
		}
		counts[st] = n
	}
	pending, err := g.counter.CountUndispatched(ctx)
	if err != nil {
		return
	}
	g.counts, g.pending, g.read, g.failed = counts, pending, time.Now(), false
}
