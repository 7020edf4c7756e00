package api_test

import (
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

func TestOrderingAndBreakerConfig(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := sampleWebhook("ordered")
	cfg := hook["webhookConfig"].(map[string]any)
	cfg["ordering"] = map[string]any{"key": "data.orderId"}
	cfg["circuitBreaker"] = map[string]any{"failures": 5, "span": "10m"}
	r := a.do("POST", "/api/v1/webhooks", hook)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	got := r.json(t)["webhookConfig"].(map[string]any)
	order, _ := got["ordering"].(map[string]any)
	breaker, _ := got["circuitBreaker"].(map[string]any)
	if order["key"] != "data.orderId" || order["onExhausted"] != "block" ||
		breaker["enabled"] != true || breaker["failures"] != float64(5) || breaker["span"] != "10m" {
		t.Fatalf("read back: %v", got)
	}
	plain := a.do("POST", "/api/v1/webhooks", sampleWebhook("plain")).json(t)["webhookConfig"].(map[string]any)
	if plain["ordering"] != nil || plain["circuitBreaker"] != nil {
		t.Fatalf("defaults are left out: %v", plain)
	}
	db := inspect(t, a)
	before := db.Dump()
	for _, c := range []struct {
		edit  func(cfg map[string]any)
		field string
	}{
		{func(cfg map[string]any) { cfg["ordering"] = map[string]any{"key": "orderId"} }, "webhookConfig.ordering.key"},
		{func(cfg map[string]any) { cfg["ordering"] = map[string]any{"key": "data..id"} }, "webhookConfig.ordering.key"},
		{func(cfg map[string]any) {
			cfg["ordering"] = map[string]any{"key": "webhook", "onExhausted": "retry"}
		}, "webhookConfig.ordering.onExhausted"},
		{func(cfg map[string]any) {
			cfg["ordering"], cfg["batching"] = map[string]any{"key": "webhook"}, map[string]any{"enabled": true}
		}, "webhookConfig.ordering"},
		{func(cfg map[string]any) { cfg["circuitBreaker"] = map[string]any{"failures": 1} }, "webhookConfig.circuitBreaker.failures"},
		{func(cfg map[string]any) { cfg["circuitBreaker"] = map[string]any{"span": "0s"} }, "webhookConfig.circuitBreaker.span"},
		{func(cfg map[string]any) { cfg["circuitBreaker"] = map[string]any{"span": "8d"} }, "webhookConfig.circuitBreaker.span"},
	} {
		h := sampleWebhook("bad")
		c.edit(h["webhookConfig"].(map[string]any))
		if r := a.do("POST", "/api/v1/webhooks", h); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field+":") {
			t.Errorf("want 422 naming %s, got %d %s", c.field, r.Status, r.Body)
		}
	}
	if db.Dump() != before {
		t.Fatal("refused webhooks were stored")
	}
}

// TestOrderedDeliveriesShowWhatTheyWaitFor: a later delivery of a key names
// the one it waits for; skip settles a failed one and nothing else.
func TestOrderedDeliveriesShowWhatTheyWaitFor(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := sampleWebhook("ordered")
	hook["eventFilters"] = []any{map[string]any{"eventType": "order.*"}}
	hook["webhookConfig"].(map[string]any)["ordering"] = map[string]any{"key": "data.orderId"}
	if r := a.do("POST", "/api/v1/webhooks", hook); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	post := func(id, orderID string) string {
		t.Helper()
		r := a.do("POST", "/api/v1/events", map[string]any{"id": id, "type": "order.created", "data": map[string]any{"orderId": orderID}})
		if r.Status != 202 {
			t.Fatalf("post %s: %d %s", id, r.Status, r.Body)
		}
		return r.json(t)["deliveries"].([]any)[0].(map[string]any)["id"].(string)
	}
	first, second, other := post("e1", "o-1"), post("e2", "o-1"), post("e3", "o-2")
	seq := func(id string) map[string]any {
		t.Helper()
		r := a.do("GET", "/api/v1/deliveries/"+id, nil)
		s, _ := r.json(t)["sequence"].(map[string]any)
		if r.Status != 200 || s == nil {
			t.Fatalf("delivery %s: %d %s", id, r.Status, r.Body)
		}
		return s
	}
	if s := seq(first); s["key"] != "o-1" || s["waitingFor"] != nil {
		t.Fatalf("first of o-1: %v", s)
	}
	if s := seq(second); s["waitingFor"] != first {
		t.Fatalf("second of o-1: %v, want it waiting for %s", s, first)
	}
	if s := seq(other); s["key"] != "o-2" || s["waitingFor"] != nil {
		t.Fatalf("o-2: %v", s)
	}
	// Ordering changed with deliveries pending: those keep their sequence,
	// later events take the new setting (here: none).
	var hook2 map[string]any
	for _, w := range a.do("GET", "/api/v1/webhooks", nil).json(t)["data"].([]any) {
		hook2 = w.(map[string]any)
	}
	delete(hook2["webhookConfig"].(map[string]any), "ordering")
	if r := a.do("PUT", "/api/v1/webhooks/"+hook2["id"].(string), hook2); r.Status != 200 {
		t.Fatalf("turn ordering off: %d %s", r.Status, r.Body)
	}
	later := post("e4", "o-1")
	if r := a.do("GET", "/api/v1/deliveries/"+later, nil); r.json(t)["sequence"] != nil {
		t.Fatalf("a delivery stored after ordering was turned off: %s", r.Body)
	}
	if s := seq(second); s["waitingFor"] != first {
		t.Fatalf("a pending delivery lost its sequence: %v", s)
	}
	if r := a.do("POST", "/api/v1/deliveries/"+second+"/skip", nil); r.Status != 409 {
		t.Fatalf("skip a pending delivery: %d %s", r.Status, r.Body)
	}
	var webhookID string
	if d, err := a.store.GetDelivery(t.Context(), first); err == nil {
		webhookID = d.WebhookID
	}
	if err := a.store.RecordAttempt(t.Context(), store.AttemptResult{DeliveryID: first, WebhookID: webhookID,
		DeliveryStatus: models.DeliveryFailed}); err != nil {
		t.Fatal(err)
	}
	if s := seq(second); s["waitingFor"] != first {
		t.Fatalf("behind a failed delivery (block): %v", s)
	}
	if r := a.do("POST", "/api/v1/deliveries/"+first+"/skip", nil); r.Status != 200 || r.json(t)["status"] != "failed" {
		t.Fatalf("skip: %d %s", r.Status, r.Body)
	}
	if s := seq(first); s["skipped"] != true {
		t.Fatalf("skipped delivery: %v", s)
	}
	if s := seq(second); s["waitingFor"] != nil {
		t.Fatalf("after the skip: %v", s)
	}
}
