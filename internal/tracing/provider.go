package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/webhookd/webhookd/internal/config"
)

// New returns the tracer provider cfg asks for and its shutdown, which
// exports what is still buffered. With tracing off it returns a nil
// provider: nothing is recorded, buffered or exported.
//
// The OTLP exporter reads its endpoint, headers, TLS and timeout from the
// standard OTEL_EXPORTER_OTLP_* variables, and the SDK the sampler
// (OTEL_TRACES_SAMPLER, parent-based always-on by default) and resource
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
func New(ctx context.Context, cfg config.Tracing, command, version string) (trace.TracerProvider, func(context.Context) error, error) {
	if !cfg.Enabled {
		return nil, func(context.Context) error { return nil }, nil
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if cfg.Protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	// Later options win: the environment's names over webhookd's defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("webhookd"), semconv.ServiceVersion(version),
			attribute.String("webhookd.command", command)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}
