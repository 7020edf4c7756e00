package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestDatabaseOutageAnswers503: while PostgreSQL is unreachable (the proxy
// to it cut), ingest and the API answer 503 with Retry-After and the one
// error shape, never 500, and /readyz names the database; once it is back,
// the same requests succeed.
func TestDatabaseOutageAnswers503(t *testing.T) {
	var proxy *storetest.Proxy
	a := newAPI(t, store.Postgres, throughProxy(&proxy))
	hook := sampleWebhook("outage")
	hook["eventFilters"] = []any{map[string]any{"eventType": "*"}}
	if r := a.do("POST", "/api/v1/webhooks", hook); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	event := map[string]any{"id": "ev-outage", "type": "order.created"}
	batch := map[string]any{"events": []any{map[string]any{"id": "ev-outage-b", "type": "order.created"}}}
	proxy.Cut()
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/events", event},
		{"POST", "/api/v1/events/batch", batch},
		{"GET", "/api/v1/webhooks", nil},
		{"POST", "/api/v1/webhooks", sampleWebhook("during")},
		{"GET", "/api/v1/events", nil},
	} {
		r := a.do(req.method, req.path, req.body)
		var e struct{ Code, Message string }
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" ||
			json.Unmarshal(r.Body, &e) != nil || e.Code != "unavailable" || e.Message == "" {
			t.Errorf("%s %s with the database down = %d (Retry-After %q) %s; want 503 unavailable",
				req.method, req.path, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	r := a.do("GET", "/readyz", nil)
	var ready struct{ Down []string }
	if err := json.Unmarshal(r.Body, &ready); err != nil || r.Status != 503 || !slices.Equal(ready.Down, []string{"database"}) {
		t.Errorf("readyz with the database down = %d %s", r.Status, r.Body)
	}
	proxy.Restore()
	if r := a.do("POST", "/api/v1/events", event); r.Status != 202 || len(r.json(t)["deliveries"].([]any)) != 1 {
		t.Fatalf("ingest once the database is back = %d %s", r.Status, r.Body)
	}
	if r := a.do("POST", "/api/v1/events/batch", batch); r.Status != 202 {
		t.Fatalf("batch once the database is back = %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/readyz", nil); r.Status != 200 {
		t.Fatalf("readyz once the database is back = %d %s", r.Status, r.Body)
	}
}
