package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.HistogramVec
	events   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "webhookd_api_request_duration_seconds", Help: "API requests by route and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_events_ingested_total", Help: "Events accepted, by whether they were new.",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.events} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// countIngested counts an accepted event, new or a repeat of a known id.
func (m *metrics) countIngested(created bool) {
	if created {
		m.events.WithLabelValues("new").Inc()
	} else {
		m.events.WithLabelValues("repeat").Inc()
	}
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}
