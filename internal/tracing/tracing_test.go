package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/tracing"
)

const producer = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// TestOffRecordsAndPassesNothing: with tracing off, a producer's
// traceparent is neither stored nor passed on, and no provider is built.
func TestOffRecordsAndPassesNothing(t *testing.T) {
	tp, flush, err := tracing.New(context.Background(), config.Tracing{}, "api", "test")
	if err != nil || tp != nil || flush(context.Background()) != nil {
		t.Fatalf("tracing off built a provider: %v %v", tp, err)
	}
	off := tracing.From(nil)
	ctx, span := off.StartFromRequest(context.Background(), http.Header{"Traceparent": {producer}}, "ingest")
	defer span.End()
	if span.IsRecording() || tracing.TraceParent(ctx) != "" {
		t.Fatalf("off: recording %v, traceparent %q", span.IsRecording(), tracing.TraceParent(ctx))
	}
	h := http.Header{}
	tracing.Inject(ctx, h)
	if len(h) != 0 {
		t.Fatalf("off: headers %v", h)
	}
}

// TestStoredTraceParentContinuesTheTrace: a span started from a stored
// traceparent is its child, and its own traceparent goes out.
func TestStoredTraceParentContinuesTheTrace(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tr := tracing.From(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	ctx, span := tr.StartFromRequest(context.Background(), http.Header{"Traceparent": {producer}}, "ingest")
	stored := tracing.TraceParent(ctx)
	span.End()
	_, attempt := tr.StartAt(context.Background(), stored, "attempt")
	attempt.End()
	_, fresh := tr.StartAt(context.Background(), "garbage", "attempt")
	fresh.End()
	got := spans.Ended()
	if len(got) != 3 {
		t.Fatalf("%d spans", len(got))
	}
	in, at, root := got[0], got[1], got[2]
	if in.Parent().SpanID().String() != "00f067aa0ba902b7" || at.Parent().SpanID() != in.SpanContext().SpanID() ||
		at.SpanContext().TraceID() != in.SpanContext().TraceID() {
		t.Errorf("tree: ingest %v under %v, attempt %v under %v", in.SpanContext(), in.Parent(), at.SpanContext(), at.Parent())
	}
	if root.Parent().IsValid() || root.SpanContext().TraceID() == in.SpanContext().TraceID() {
		t.Errorf("a malformed traceparent should start a new trace: %v", root.Parent())
	}
}

// TestExportsOverOTLP: with an OTLP endpoint set, spans reach it (over
// http/protobuf, at /v1/traces) by the time the provider shuts down.
func TestExportsOverOTLP(t *testing.T) {
	got := make(chan string, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	cfg, err := config.Load(config.ModeWorker, os.Getenv)
	if !cfg.Tracing.Enabled {
		t.Fatalf("tracing off with OTEL_EXPORTER_OTLP_ENDPOINT set: %+v %v", cfg.Tracing, err)
	}
	tp, flush, err := tracing.New(context.Background(), cfg.Tracing, "worker", "test")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tracing.From(tp).Start(context.Background(), "attempt 1")
	span.End()
	if err := flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		if req != "POST /v1/traces application/x-protobuf" {
			t.Errorf("collector got %q", req)
		}
	default:
		t.Fatal("no export reached the collector")
	}
}
