package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/webhookd/webhookd/e2e/rig"
)

// TestOneDeliveryIsOneTrace: an event posted with a producer's traceparent
// is delivered in that trace: ingest under the producer's span, the
// workflow start and the attempt under ingest, the HTTP client span (with
// the receiver's status code) under the attempt, and the receiver gets the
// client span's context in its traceparent header.
func TestOneDeliveryIsOneTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	st := rig.NewStackWith(t, rig.Options{Tracer: tp})
	var (
		mu       sync.Mutex
		received []string
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.Header.Get("traceparent"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	st.CreateWebhook("traced", rc.URL, "")

	const producerTrace, producerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("POST", st.API.URL+"/api/v1/events", strings.NewReader(`{"id":"evt-traced","type":"order.created"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+producerTrace+"-"+producerSpan+"-01")
	resp, err := st.API.Client().Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("ingest: %v %v", resp, err)
	}
	resp.Body.Close()
	ds, err := st.Store.EventDeliveries(t.Context(), "default", "evt-traced")
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %v %v", ds, err)
	}
	st.WaitDelivery(ds[0].ID, "succeeded", 30*time.Second)

	byName := map[string]tracetest.SpanStub{}
	deadline := time.Now().Add(10 * time.Second)
	for len(byName) < 4 && time.Now().Before(deadline) {
		for _, s := range spans.GetSpans() {
			byName[s.Name] = s
		}
		time.Sleep(20 * time.Millisecond)
	}
	ingest, start, attempt, client := byName["POST /api/v1/events"], byName["start delivery"], byName["attempt 1"], byName["POST"]
	for name, s := range map[string]tracetest.SpanStub{"ingest": ingest, "start": start, "attempt": attempt, "client": client} {
		if s.SpanContext.TraceID().String() != producerTrace {
			t.Errorf("%s span %q is in trace %s, not the producer's %s", name, s.Name, s.SpanContext.TraceID(), producerTrace)
		}
	}
	parents := []struct {
		child, parent tracetest.SpanStub
		parentID      string
	}{
		{ingest, tracetest.SpanStub{}, producerSpan},
		{start, ingest, ingest.SpanContext.SpanID().String()},
		{attempt, ingest, ingest.SpanContext.SpanID().String()},
		{client, attempt, attempt.SpanContext.SpanID().String()},
	}
	for _, p := range parents {
		if got := p.child.Parent.SpanID().String(); got != p.parentID {
			t.Errorf("span %q has parent %s, want %s (%s)", p.child.Name, got, p.parentID, p.parent.Name)
		}
	}
	if ingest.SpanKind != trace.SpanKindServer || client.SpanKind != trace.SpanKindClient {
		t.Errorf("kinds: ingest %v, client %v", ingest.SpanKind, client.SpanKind)
	}
	if !hasAttr(ingest.Attributes, "http.response.status_code", attribute.IntValue(202)) ||
		!hasAttr(client.Attributes, "http.response.status_code", attribute.IntValue(204)) {
		t.Errorf("status codes: ingest %v, client %v", ingest.Attributes, client.Attributes)
	}
	if !hasAttr(attempt.Attributes, "webhookd.delivery_id", attribute.StringValue(ds[0].ID)) {
		t.Errorf("attempt span does not name its delivery: %v", attempt.Attributes)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "00-" + producerTrace + "-" + client.SpanContext.SpanID().String() + "-01"
	if len(received) != 1 || received[0] != want {
		t.Errorf("receiver got traceparent %q, want %q (the client span's)", received, want)
	}
}

func hasAttr(attrs []attribute.KeyValue, key string, v attribute.Value) bool {
	for _, a := range attrs {
		if string(a.Key) == key {
			return a.Value == v
		}
	}
	return false
}
