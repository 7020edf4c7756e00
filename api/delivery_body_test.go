package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

// TestDeliveryRequestBody: ?include=body adds the envelope as the attempt
// sends it, with the webhook's credentials masked even where an event's
// data repeats one; without it, no body; anything else is a 400.
func TestDeliveryRequestBody(t *testing.T) {
	a := newAPI(t, store.Postgres)
	const credential = "Bearer s3cr3t-value-0123"
	hook := sampleWebhook("bodies")
	hook["eventFilters"] = []any{map[string]any{"eventType": "order.*"}}
	hook["webhookConfig"].(map[string]any)["headers"] = map[string]any{"Authorization": credential}
	if r := a.do("POST", "/api/v1/webhooks", hook); r.Status != 201 {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	ing := a.do("POST", "/api/v1/events", map[string]any{"id": "evt_body", "type": "order.created",
		"data": map[string]any{"orderId": 42, "echo": credential}})
	if ing.Status != 202 {
		t.Fatalf("ingest = %d %s", ing.Status, ing.Body)
	}
	id := ing.json(t)["deliveries"].([]any)[0].(map[string]any)["id"].(string)

	r := a.do("GET", "/api/v1/deliveries/"+id+"?include=body", nil)
	if r.Status != 200 {
		t.Fatalf("GET ?include=body = %d %s", r.Status, r.Body)
	}
	d := r.json(t)
	raw, _ := d["requestBody"].(string)
	var env map[string]any
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		t.Fatalf("requestBody is not the JSON envelope: %v: %q", err, raw)
	}
	if env["id"] != "evt_body" || env["event"] != "order.created" || env["webhookName"] != "bodies" || env["version"] != "1" {
		t.Errorf("envelope = %v", env)
	}
	if strings.Contains(raw, "s3cr3t") || !strings.Contains(raw, "********") {
		t.Errorf("a credential in the body is not masked: %s", raw)
	}
	if d["requestBodyAsOf"] == nil {
		t.Errorf("no requestBodyAsOf: %s", r.Body)
	}
	if r := a.do("GET", "/api/v1/deliveries/"+id, nil); strings.Contains(string(r.Body), "requestBody") {
		t.Errorf("a body without ?include=body: %s", r.Body)
	}
	if r := a.do("GET", "/api/v1/deliveries/"+id+"?include=headers", nil); r.Status != 400 || !strings.Contains(r.errorMessage(t), "include") {
		t.Errorf("?include=headers = %d %s", r.Status, r.Body)
	}
}
