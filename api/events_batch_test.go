package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

func TestBatchIngest(t *testing.T) {
	a := newAPI(t, store.Postgres)
	if r := a.do("POST", "/api/v1/webhooks", sampleWebhook("all")); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	first := a.do("POST", "/api/v1/events", map[string]any{"id": "evt-1", "type": "entityCreated", "entityType": "table"})
	if first.Status != 202 {
		t.Fatalf("single: %d %s", first.Status, first.Body)
	}
	r := a.do("POST", "/api/v1/events/batch", map[string]any{"events": []any{
		map[string]any{"id": "evt-2", "type": "entityCreated", "entityType": "table"},
		map[string]any{"id": "evt-1", "type": "entityCreated", "entityType": "table"}, // seen before
		map[string]any{"id": "evt-3", "type": "entityDeleted"},                        // matches nothing
	}})
	if r.Status != 202 {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	data := r.json(t)["data"].([]any)
	if len(data) != 3 {
		t.Fatalf("answers: %s", r.Body)
	}
	item := func(i int) map[string]any { return data[i].(map[string]any) }
	if item(0)["id"] != "evt-2" || len(item(0)["deliveries"].([]any)) != 1 || item(0)["idempotentReplayed"] != nil {
		t.Fatalf("answer 0: %v", item(0))
	}
	// The repeat answers exactly as the first single POST did.
	firstDeliveries := fmt.Sprint(first.json(t)["deliveries"])
	if item(1)["idempotentReplayed"] != true || fmt.Sprint(item(1)["deliveries"]) != firstDeliveries {
		t.Fatalf("answer 1: %v, first answer %s", item(1), first.Body)
	}
	if item(2)["id"] != "evt-3" || len(item(2)["deliveries"].([]any)) != 0 {
		t.Fatalf("answer 2: %v", item(2))
	}

	db := inspect(t, a)
	before := db.Dump()
	for _, c := range []struct {
		body, field string
	}{
		{`{"events":[{"type":"ok"},{"type":"ok"},{"id":"x"}]}`, "events[2].type:"},
		{`{"events":[{"type":"ok"},{"type":"ok","timestamp":"yesterday"}]}`, "events[1].timestamp:"},
		{`{"events":[{"type":"ok","colour":"red"}]}`, "events[0].colour:"},
		{`{"events":[]}`, "events:"},
		{`{"events":[` + strings.Repeat(`{"type":"x"},`, 500) + `{"type":"x"}]}`, "events:"},
	} {
		r := a.do("POST", "/api/v1/events/batch", c.body)
		if r.Status/100 != 4 || !strings.HasPrefix(r.errorMessage(t), c.field) {
			t.Errorf("%.60s: %d %s, want a 4xx naming %s", c.body, r.Status, r.Body, c.field)
		}
	}
	if db.Dump() != before {
		t.Fatal("a refused batch stored something")
	}
}

func TestBatchingSettings(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := sampleWebhook("batched")
	hook["batchSize"] = 100
	hook["webhookConfig"].(map[string]any)["batching"] = map[string]any{"enabled": true, "maxWaitMs": 250}
	r := a.do("POST", "/api/v1/webhooks", hook)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	got := r.json(t)
	b := got["webhookConfig"].(map[string]any)["batching"].(map[string]any)
	if b["enabled"] != true || b["maxWaitMs"] != float64(250) || got["batchSize"] != float64(100) {
		t.Fatalf("read back: %s", r.Body)
	}
	plain := a.do("POST", "/api/v1/webhooks", sampleWebhook("plain")).json(t)
	if _, ok := plain["webhookConfig"].(map[string]any)["batching"]; ok {
		t.Fatalf("a webhook that does not batch shows batching: %v", plain)
	}
	for _, c := range []struct {
		edit  func(map[string]any)
		field string
	}{
		{func(h map[string]any) {
			h["webhookType"] = "Slack"
			h["webhookConfig"].(map[string]any)["batching"] = map[string]any{"enabled": true}
		}, "webhookConfig.batching.enabled:"},
		{func(h map[string]any) {
			h["webhookConfig"].(map[string]any)["batching"] = map[string]any{"enabled": true, "maxWaitMs": 5}
		}, "webhookConfig.batching.maxWaitMs:"},
	} {
		h := sampleWebhook("bad")
		c.edit(h)
		if r := a.do("POST", "/api/v1/webhooks", h); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field) {
			t.Errorf("want 422 naming %s, got %d %s", c.field, r.Status, r.Body)
		}
	}
}
