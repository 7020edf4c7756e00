package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
)

// TestEditsAreMatchedByTheNextEvent: a webhook changed through this process
// by PUT, PATCH, disable or delete is what the very next event matches. The
// matcher here trusts its cache for an hour without a version: only the
// version ingest reads (moved by the edit) can tell it.
func TestEditsAreMatchedByTheNextEvent(t *testing.T) {
	a := newAPI(t, store.Postgres, withMatcherMaxAge(time.Hour))
	n := 0
	deliveries := func(typ string) int {
		t.Helper()
		n++
		r := a.do("POST", "/api/v1/events", map[string]any{"id": fmt.Sprintf("evt-%d", n), "type": typ})
		if r.Status != 202 {
			t.Fatalf("post event: %d %s", r.Status, r.Body)
		}
		return len(r.json(t)["deliveries"].([]any))
	}
	hook := sampleWebhook("edited")
	hook["eventFilters"] = []any{map[string]any{"eventType": "order.created"}}
	doc := a.do("POST", "/api/v1/webhooks", hook).json(t)
	id := doc["id"].(string)
	if got := deliveries("order.created"); got != 1 {
		t.Fatalf("before any edit: %d deliveries", got)
	}

	doc["eventFilters"] = []any{map[string]any{"eventType": "invoice.created"}}
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if got, now := deliveries("order.created"), deliveries("invoice.created"); got != 0 || now != 1 {
		t.Fatalf("after a PUT to invoice.created: order.created %d, invoice.created %d deliveries", got, now)
	}

	patch := func(ops string) {
		t.Helper()
		if r := a.do("PATCH", "/api/v1/webhooks/"+id, ops, "Content-Type", "application/json-patch+json"); r.Status != 200 {
			t.Fatalf("PATCH %s: %d %s", ops, r.Status, r.Body)
		}
	}
	patch(`[{"op":"replace","path":"/eventFilters/0/eventType","value":"shipment.created"}]`)
	if got, now := deliveries("invoice.created"), deliveries("shipment.created"); got != 0 || now != 1 {
		t.Fatalf("after a PATCH to shipment.created: invoice.created %d, shipment.created %d deliveries", got, now)
	}
	patch(`[{"op":"replace","path":"/enabled","value":false}]`)
	if got := deliveries("shipment.created"); got != 0 {
		t.Fatalf("a disabled webhook got %d deliveries", got)
	}
	patch(`[{"op":"replace","path":"/enabled","value":true}]`)
	if got := deliveries("shipment.created"); got != 1 {
		t.Fatalf("a re-enabled webhook got %d deliveries", got)
	}
	if r := a.do("DELETE", "/api/v1/webhooks/"+id, nil); r.Status != 200 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if got := deliveries("shipment.created"); got != 0 {
		t.Fatalf("a deleted webhook got %d deliveries", got)
	}
}
