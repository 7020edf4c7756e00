package api_test

import (
	"strings"
	"testing"

	"github.com/webhookd/webhookd/api"
	"github.com/webhookd/webhookd/internal/store"
)

// The API runs open here (no API_TOKEN): what a web page on another site
// could do to it is exactly what these tests refuse.

// TestWritesTakeJSONOnly: a page can post text/plain, form and multipart
// bodies anywhere without a CORS preflight; the API takes none of them.
func TestWritesTakeJSONOnly(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := a.do("POST", "/api/v1/webhooks", sampleWebhook("json-only")).json(t)
	id := hook["id"].(string)
	webhook := `{"name":"from-a-page","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"https://attacker.example/collect"}}`
	for _, c := range []struct {
		method, path, body, contentType string
		status                          int
	}{
		{"POST", "/api/v1/webhooks", webhook, "text/plain", 415},
		{"POST", "/api/v1/webhooks", webhook, "text/plain;charset=UTF-8", 415},
		{"POST", "/api/v1/webhooks", webhook, "application/x-www-form-urlencoded", 415},
		{"POST", "/api/v1/webhooks", webhook, "multipart/form-data; boundary=x", 415},
		{"POST", "/api/v1/webhooks", webhook, "", 415}, // a body that does not say what it is
		{"POST", "/api/v1/webhooks", webhook, "application/json; charset=iso-8859-1", 415},
		{"POST", "/api/v1/events", `{"type":"entityCreated"}`, "text/plain", 415},
		{"POST", "/api/v1/events/batch", `{"events":[{"type":"entityCreated"}]}`, "text/plain", 415},
		{"PUT", "/api/v1/webhooks/" + id, webhook, "text/plain", 415},
		{"PATCH", "/api/v1/webhooks/" + id, `[{"op":"add","path":"/description","value":"x"}]`, "application/json", 415},
		{"POST", "/api/v1/webhooks/" + id + "/pause", "", "text/plain", 415},
		{"POST", "/api/v1/tenants/acme/tokens", "{}", "text/plain", 415},
		{"POST", "/api/v1/dlq/replay", `{"dryRun":true}`, "application/x-www-form-urlencoded", 415},
		// Writes without a body need no Content-Type; JSON in UTF-8 is taken.
		{"POST", "/api/v1/webhooks/" + id + "/pause", "", "", 200},
		{"POST", "/api/v1/events", `{"type":"entityCreated"}`, "application/json; charset=utf-8", 202},
		{"PATCH", "/api/v1/webhooks/" + id, `[{"op":"add","path":"/description","value":"x"}]`, "application/json-patch+json", 200},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := a.do(c.method, c.path, body, "Content-Type", c.contentType)
		if r.Status != c.status {
			t.Errorf("%s %s with Content-Type %q = %d %s, want %d", c.method, c.path, c.contentType, r.Status, r.Body, c.status)
		}
	}
	if r := a.do("GET", "/api/v1/webhooks/name/from-a-page", nil); r.Status != 404 {
		t.Fatalf("a refused write stored a webhook: %d %s", r.Status, r.Body)
	}
	if n := len(a.do("GET", "/api/v1/events", nil).json(t)["data"].([]any)); n != 1 {
		t.Fatalf("events stored: %d, want only the JSON one", n)
	}
}

// TestBrowserWritesFromOtherOriginsAreRefused: even with JSON (which needs
// a preflight the API never grants), a browser's write from another origin
// is refused; reads and non-browser clients are not affected.
func TestBrowserWritesFromOtherOriginsAreRefused(t *testing.T) {
	a := newAPI(t, store.Postgres)
	host := strings.TrimPrefix(a.srv.URL, "http://")
	for _, c := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site fetch", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"another origin", []string{"Origin", "https://attacker.example"}, 403},
		{"same origin", []string{"Origin", "http://" + host, "Sec-Fetch-Site", "same-origin"}, 202},
		{"typed by the user", []string{"Sec-Fetch-Site", "none"}, 202},
		{"not a browser", nil, 202},
	} {
		r := a.do("POST", "/api/v1/events", map[string]any{"type": "entityCreated"}, c.headers...)
		if r.Status != c.status {
			t.Errorf("%s: POST /events = %d %s, want %d", c.name, r.Status, r.Body, c.status)
		}
	}
	if r := a.do("GET", "/api/v1/webhooks", nil, "Sec-Fetch-Site", "cross-site"); r.Status != 200 {
		t.Errorf("a cross-site read = %d; reads stay open (no CORS: the page cannot read the answer)", r.Status)
	}
}

// TestHostAllowList: a page whose name was rebound to this server's
// address sends its own name as the Host, and is refused on every route;
// loopback names, IP addresses and the configured names are answered.
func TestHostAllowList(t *testing.T) {
	a := newAPI(t, store.Postgres, withHosts(api.HostRule{Names: []string{"webhooks.example.com", ".svc.cluster.local"}}))
	for host, want := range map[string]int{
		"rebound.attacker.example":       421,
		"rebound.attacker.example:8080":  421,
		"example.com":                    421,
		"localhost.attacker.example":     421,
		"cluster.local":                  421,
		"localhost:8080":                 200,
		"LOCALHOST.":                     200,
		"console.localhost:8080":         200,
		"127.0.0.1:8080":                 200,
		"[::1]:8080":                     200,
		"192.0.2.10":                     200,
		"webhooks.example.com":           200,
		"Webhooks.Example.com:443":       200,
		"svc.cluster.local":              200,
		"api.webhookd.svc.cluster.local": 200,
	} {
		r := a.do("GET", "/api/v1/webhooks", nil, "Host", host)
		if r.Status != want {
			t.Errorf("Host %s: %d %s, want %d", host, r.Status, r.Body, want)
		}
	}
	// Every route: writes, the probes and the OpenAPI document too.
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/events"}, {"GET", "/healthz"}, {"GET", "/api/v1/openapi.json"}, {"GET", "/metrics"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{"type": "entityCreated"}
		}
		if r := a.do(c.method, c.path, body, "Host", "rebound.attacker.example"); r.Status != 421 {
			t.Errorf("%s %s with a foreign Host = %d, want 421", c.method, c.path, r.Status)
		}
	}
	if n := len(a.do("GET", "/api/v1/events", nil).json(t)["data"].([]any)); n != 0 {
		t.Fatalf("a refused host stored %d events", n)
	}
	anyHost := newAPI(t, store.Postgres, withHosts(api.HostRule{Any: true}))
	if r := anyHost.do("GET", "/api/v1/webhooks", nil, "Host", "anything.example"); r.Status != 200 {
		t.Errorf("ALLOWED_HOSTS=*: %d", r.Status)
	}
}
