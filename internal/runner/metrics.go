package runner

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics returns a handler for the Temporal SDK's own metrics
// (workflow and activity task latencies, poller counts, request errors,
// sticky cache hits, ...) that lands them in reg, through OpenTelemetry's
// Prometheus exporter. (The SDK's tally bridge is not published on the
// module proxy; its OpenTelemetry one is.) onError receives instrument
// errors, which the SDK's default would turn into a panic.
func Metrics(reg prometheus.Registerer, onError func(error)) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("temporal metrics: %w", err)
	}
	// The SDK records latencies in seconds, but OpenTelemetry's default
	// buckets (0, 5, 10, 25, ... 10000) are made for milliseconds: every
	// task under 5 s would land in one bucket and a p95 would read 4.75 s.
	seconds := sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{
			Boundaries: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}},
	)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   provider.Meter("temporal-sdk-go"),
		OnError: onError,
		// Counters as Prometheus counters (rate() works), not up-down sums.
		UseMonotonicCounters: true,
	}), nil
}
