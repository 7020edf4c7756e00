package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/telemetry"
)

// Metrics is one process's metrics: the registry its /metrics serves and
// what feeds it.
type Metrics struct {
	Registry *prometheus.Registry
	delivery *telemetry.Delivery
	temporal client.MetricsHandler
}

// NewMetrics returns a registry with the Go and process collectors, the
// delivery metrics and the Temporal SDK's.
func NewMetrics(log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	delivery, err := telemetry.NewDelivery(reg)
	if err != nil {
		return nil, err
	}
	temporalMetrics, err := runner.Metrics(reg, func(err error) {
		log.Warn("temporal sdk metric", "error", err)
	})
	if err != nil {
		return nil, err
	}
	return &Metrics{Registry: reg, delivery: delivery, temporal: temporalMetrics}, nil
}

func (m *Metrics) deliveryMetrics() *telemetry.Delivery {
	if m == nil {
		return nil
	}
	return m.delivery
}

// readiness is what a worker's /readyz checks: it names the dependencies
// that do not answer ("database", "temporal"), none when ready.
type readiness func(ctx context.Context) (down []string)

// metricsHandler serves a worker's /metrics, /healthz and /readyz (a worker
// has no API, but Prometheus and orchestrators still need to reach it).
func metricsHandler(m *Metrics, ready readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		down := ready(ctx)
		w.Header().Set("Content-Type", "application/json")
		if len(down) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(struct {
			Ready bool     `json:"ready"`
			Down  []string `json:"down"`
		}{len(down) == 0, append([]string{}, down...)})
	})
	return mux
}
