package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

// TestRequestLogsNameIDs: each request's log line names the tenant and the
// webhook, event and deliveries it touched, and never a secret or a payload.
func TestRequestLogsNameIDs(t *testing.T) {
	logs := &lockedBuffer{}
	a := newAPI(t, store.SQLite, withLog(logs))
	hook := sampleWebhook("logged")
	hook["eventFilters"] = []any{map[string]any{"eventType": "*"}}
	r := a.do("POST", "/api/v1/webhooks", hook)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	hookID := r.json(t)["id"].(string)
	ev := a.do("POST", "/api/v1/events", map[string]any{"id": "ev-logged", "type": "t.logged",
		"data": map[string]any{"card": "PAYLOAD-4242"}})
	if ev.Status != 202 {
		t.Fatalf("ingest: %d %s", ev.Status, ev.Body)
	}
	if a.do("GET", "/api/v1/webhooks/"+hookID, nil).Status != 200 {
		t.Fatal("get webhook")
	}
	var ingestLine, getLine string
	for _, line := range strings.Split(string(logs.Bytes()), "\n") {
		switch {
		case strings.Contains(line, "msg=request") && strings.Contains(line, "route=/api/v1/events "):
			ingestLine = line
		case strings.Contains(line, "msg=request") && strings.Contains(line, "route=/api/v1/webhooks/:id "):
			getLine = line
		}
	}
	if !strings.Contains(ingestLine, "tenant=default") || !strings.Contains(ingestLine, "event=ev-logged") ||
		!strings.Contains(ingestLine, "deliveries=[") {
		t.Errorf("ingest log line lacks its ids: %q", ingestLine)
	}
	if !strings.Contains(getLine, "webhook="+hookID) {
		t.Errorf("webhook read log line lacks the webhook id: %q", getLine)
	}
	for _, secret := range []string{"PAYLOAD-4242", "whsec_"} {
		if bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Errorf("%s reached the log:\n%s", secret, logs.Bytes())
		}
	}
}
