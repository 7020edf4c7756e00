package payload

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestRenderBatch(t *testing.T) {
	at := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	one := Message{ID: "evt-1", EventType: "order.created", TenantID: "acme", Timestamp: at, WebhookName: "orders",
		Data: json.RawMessage(`{"orderId":1}`)}
	two := one
	two.ID, two.EventType, two.Data = "evt-2", "order.paid", json.RawMessage(`{"orderId":2}`)
	body, err := RenderBatch(Batch{ID: "b-1", TenantID: "acme", Timestamp: at, WebhookName: "orders", Events: []Message{one, two}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"b-1","version":"1","event":"webhookd.batch","tenantId":"acme","timestamp":"2024-01-15T10:30:00.000Z","webhookName":"orders",` +
		`"data":{"count":2,"events":[` +
		`{"id":"evt-1","version":"1","event":"order.created","tenantId":"acme","timestamp":"2024-01-15T10:30:00.000Z","webhookName":"orders","data":{"orderId":1}},` +
		`{"id":"evt-2","version":"1","event":"order.paid","tenantId":"acme","timestamp":"2024-01-15T10:30:00.000Z","webhookName":"orders","data":{"orderId":2}}]}}`
	if string(body) != want {
		t.Fatalf("batch body\n got %s\nwant %s", body, want)
	}
	// Each inner event is byte for byte what a one-event delivery sends.
	single, err := Render(context.Background(), "Generic", Options{}, one)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Data struct {
			Events []json.RawMessage `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &parsed); err != nil || string(parsed.Data.Events[0]) != string(single) {
		t.Fatalf("inner event %s, single delivery %s (%v)", parsed.Data.Events[0], single, err)
	}
	bad := one
	bad.Data = json.RawMessage(`{`)
	if _, err := RenderBatch(Batch{ID: "b-2", Events: []Message{bad}}); err == nil {
		t.Fatal("invalid event JSON must fail the batch")
	}
}
