// Package telemetry defines webhookd's Prometheus metrics in one place, with
// conventional names and units and bounded label sets (never a webhook id).
// The Temporal SDK's own metrics reach the same registry through
// internal/runner.
package telemetry

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery is what workers measure about attempts.
type Delivery struct {
	attempts        *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	eventToSuccess  prometheus.Histogram
	limited         *prometheus.CounterVec
	wakeUps         *prometheus.CounterVec
}

// Metric names, for dashboards, alert rules and the test that checks them.
const (
	AttemptsTotal          = "webhookd_delivery_attempts_total"
	AttemptDurationSeconds = "webhookd_delivery_attempt_duration_seconds"
	EventToSuccessSeconds  = "webhookd_delivery_event_to_success_seconds"
	LimitedTotal           = "webhookd_delivery_limited_total"
	WakeUpsTotal           = "webhookd_delivery_wakeups_total"
)

// Outcomes of a wake-up of a delivery waiting for a concurrency slot
// (ObserveWakeUp).
const (
	WakeUpSignalled = "signalled" // its workflow got the signal
	WakeUpEnded     = "ended"     // its run had closed (e.g. the delivery was cancelled)
	WakeUpFailed    = "failed"    // the signal failed: it asks at its next poll
	WakeUpDropped   = "dropped"   // too many in flight: it asks at its next poll
	WakeUpLost      = "lost"      // the slot was released, but the waiter to wake could not be picked: it asks at its next poll
)

// NewDelivery registers the delivery metrics with reg.
func NewDelivery(reg prometheus.Registerer) (*Delivery, error) {
	m := &Delivery{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: AttemptsTotal,
			Help: "Delivery attempts by outcome (success, failure, gone, rejected) and response status class (2xx..5xx, or none when no response came).",
		}, []string{"outcome", "status_class"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    AttemptDurationSeconds,
			Help:    "Time from sending a delivery attempt to its answer (or failure), by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"outcome"}),
		eventToSuccess: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    EventToSuccessSeconds,
			Help:    "Time from an event's acceptance to its successful delivery, retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600},
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: LimitedTotal,
			Help: "Requests held back by a webhook's limits, by what they wait for (rateLimit, concurrency); each is a durable wait, not an attempt.",
		}, []string{"waiting_for"}),
		wakeUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: WakeUpsTotal,
			Help: "Wake-ups of deliveries waiting for a concurrency slot (a request's end freed one, maxConcurrency was raised, or the webhook gate or tenant share of the worker that turned them away has room), by outcome (signalled, ended, failed, dropped, lost); the failed, dropped and lost ask at their next poll.",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.attemptDuration, m.eventToSuccess, m.limited, m.wakeUps} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveAttempt counts one attempt. status is the response's status code,
// 0 when none came. A nil Delivery measures nothing.
func (m *Delivery) ObserveAttempt(outcome string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(outcome, statusClass(status)).Inc()
	m.attemptDuration.WithLabelValues(outcome).Observe(took.Seconds())
}

// ObserveSuccess records how long an event took to reach its receiver.
func (m *Delivery) ObserveSuccess(acceptedAt, deliveredAt time.Time) {
	if m == nil || acceptedAt.IsZero() {
		return
	}
	m.eventToSuccess.Observe(deliveredAt.Sub(acceptedAt).Seconds())
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return strconv.Itoa(status/100) + "xx"
}

// ObserveLimited counts one request held back by a webhook's limits.
func (m *Delivery) ObserveLimited(waitingFor string) {
	if m == nil {
		return
	}
	m.limited.WithLabelValues(waitingFor).Inc()
}

// ObserveWakeUp counts one wake-up of a concurrency waiter by its outcome
// (WakeUpSignalled, ...).
func (m *Delivery) ObserveWakeUp(outcome string) {
	if m == nil {
		return
	}
	m.wakeUps.WithLabelValues(outcome).Inc()
}
