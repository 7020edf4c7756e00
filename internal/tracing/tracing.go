// Package tracing is webhookd's OpenTelemetry tracing: the tracer provider
// the OTEL_* variables configure (New), and the W3C traceparent that
// carries one trace from a producer's request through the outbox to every
// attempt, in whichever process each runs (docs/operations.md, "Observability").
package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of webhookd's spans.
const Name = "github.com/webhookd/webhookd"

// Tracer starts webhookd's spans. The zero Tracer is tracing off: it
// records nothing, and reads and passes on no trace context.
type Tracer struct{ t trace.Tracer }

// From returns the Tracer of tp; nil tp is tracing off.
func From(tp trace.TracerProvider) Tracer {
	if tp == nil {
		return Tracer{}
	}
	return Tracer{t: tp.Tracer(Name)}
}

// On reports whether spans are recorded.
func (t Tracer) On() bool { return t.t != nil }

// off is the span of a Tracer that is off: it records nothing and has no
// context to pass on.
var off = trace.SpanFromContext(context.Background())

// Start starts a span under the one in ctx.
func (t Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.t == nil {
		return ctx, off
	}
	return t.t.Start(ctx, name, opts...)
}

// StartAt starts a span under traceparent (a stored one), or a new trace
// when it is empty or malformed.
func (t Tracer) StartAt(ctx context.Context, traceparent, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.t == nil {
		return ctx, off
	}
	carrier := propagation.MapCarrier{"traceparent": traceparent}
	return t.t.Start(traceContext.Extract(ctx, carrier), name, opts...)
}

// StartFromRequest starts a server span under the trace a caller sent in
// its traceparent (and tracestate) headers, or a new trace without one.
func (t Tracer) StartFromRequest(ctx context.Context, h http.Header, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.t == nil {
		return ctx, off
	}
	opts = append([]trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}, opts...)
	return t.t.Start(traceContext.Extract(ctx, propagation.HeaderCarrier(h)), name, opts...)
}

// traceContext is the W3C Trace Context format (traceparent, tracestate).
var traceContext = propagation.TraceContext{}

// TraceParent is the traceparent of the span in ctx, to store; "" when
// there is none (tracing off).
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return "" // tracing off: not even a map
	}
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// Inject sets the traceparent (and tracestate) headers of the span in ctx
// on h; it sets nothing when there is none (tracing off).
func Inject(ctx context.Context, h http.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}
