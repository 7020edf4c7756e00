package console

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/secrets"
)

// pagesAPI is an open API (no token: the admin) with one webhook, one
// event and its delivery, whose attempt is under way until the page has
// been read twice.
type pagesAPI struct {
	mu    sync.Mutex
	reads int
	posts []string
}

func (a *pagesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	path := r.URL.Path
	switch {
	case path == "/api/v1/whoami":
		io.WriteString(w, `{"role":"admin","readOnly":false}`)
	case path == "/api/v1/deliveries/d2" && r.URL.Query().Get("include") == "body":
		a.reads++
		status := "delivering"
		if a.reads > 2 {
			status = "succeeded"
		}
		io.WriteString(w, `{"id":"d2","tenantId":"acme","eventId":"evt_1","eventType":"order.created","webhookId":"w1","status":"`+status+`",`+
			`"trigger":"replay","attempts":2,"createdAt":"2026-12-01T10:00:00.000Z","updatedAt":"2026-12-01T10:00:00.000Z",`+
			`"requestBody":"{\"id\":\"evt_1\",\"data\":{\"orderId\":42}}","requestBodyAsOf":"2026-12-01T11:00:00.000Z",`+
			`"attemptLog":[{"number":1,"trigger":"scheduled","request":{"url":"https://e.x"},"durationMs":5,"error":"dial tcp: connection refused","startedAt":"2026-12-01T10:00:00.000Z","finishedAt":"2026-12-01T10:00:00.005Z"},`+
			`{"number":2,"trigger":"replay","request":{"url":"https://e.x"},"durationMs":5,"startedAt":"2026-12-01T12:00:00.000Z","finishedAt":"2026-12-01T12:00:00.005Z"}]}`)
	case path == "/api/v1/webhooks/w1":
		io.WriteString(w, `{"id":"w1","name":"orders","webhookType":"Generic","eventFilters":[],"webhookConfig":{"endpoint":"https://e.x","secretKey":"********","publicKey":"whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}}`)
	case path == "/api/v1/webhooks/w2":
		io.WriteString(w, `{"id":"w2","name":"mirror","webhookType":"Generic","status":"autoPaused","paused":true,"eventFilters":[],`+
			`"webhookConfig":{"endpoint":"https://e.x","ordering":{"key":"data.orderId","onExhausted":"block"},"circuitBreaker":{"enabled":true,"failures":5}},`+
			`"failureDetails":{"autoPausedReason":"5 consecutive failed attempts since 2026-12-01T10:00:00Z","nextProbe":1764590460000}}`)
	case path == "/api/v1/webhooks/w2/stats":
		io.WriteString(w, `{"attempts":5,"successes":0}`)
	case path == "/api/v1/deliveries/d3":
		io.WriteString(w, `{"id":"d3","tenantId":"acme","eventId":"evt_3","eventType":"order.paid","webhookId":"w2","status":"pending",`+
			`"trigger":"scheduled","attempts":0,"createdAt":"2026-12-01T10:00:00.000Z","updatedAt":"2026-12-01T10:00:00.000Z",`+
			`"sequence":{"key":"o-42","waitingFor":"d2"},"attemptLog":[]}`)
	case path == "/api/v1/webhooks/w1/stats":
		io.WriteString(w, `{"attempts":0}`)
	case path == "/api/v1/webhooks/w1/deliveries":
		io.WriteString(w, `{"data":[{"id":"d2","eventId":"evt_1","eventType":"order.created","webhookId":"w1","status":"awaitingRetry","attempts":1,`+
			`"lastError":"dial tcp 10.0.0.1:443: connection refused","createdAt":"2026-12-01T10:00:00.000Z"}],"paging":{}}`)
	case path == "/api/v1/dlq":
		io.WriteString(w, `{"data":[],"paging":{}}`)
	case path == "/api/v1/dlq/replay" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(r.Body)
		a.posts = append(a.posts, string(b))
		io.WriteString(w, `{"status":"dryRun","matched":3}`)
	case path == "/api/v1/events":
		io.WriteString(w, `{"data":[{"id":"evt_1","tenantId":"acme","type":"order.created","timestamp":"2026-12-01T10:00:00.000Z",`+
			`"createdAt":"2026-12-01T10:00:00.000Z","deliveries":{"succeeded":2,"failed":1}}],"paging":{}}`)
	case path == "/api/v1/events/evt_1":
		io.WriteString(w, `{"id":"evt_1","tenantId":"acme","type":"order.created","data":{"orderId":42},"timestamp":"2026-12-01T10:00:00.000Z",`+
			`"createdAt":"2026-12-01T10:00:00.000Z","deliveries":[{"id":"d2","webhookId":"w1","status":"succeeded","attempts":2,"lastStatusCode":200}]}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"not_found","message":"no such thing"}`)
	}
}

func newPagesConsole(t *testing.T) (*pagesAPI, *httptest.Server, *http.Client) {
	t.Helper()
	keys, err := secrets.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	a := &pagesAPI{}
	c, err := New(Deps{Logger: slog.New(slog.DiscardHandler), API: a, Sealer: keys,
		Revocations: &revocations{revoked: map[string]time.Time{}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	return a, srv, f.browser(t)
}

func get(t *testing.T, c *http.Client, u string, headers ...string) string {
	t.Helper()
	resp, page := do(t, c, "GET", u, nil, headers...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%.2000s", u, resp.StatusCode, page)
	}
	return page
}

// TestDeliveryPage: the request body pretty-printed with a copy button,
// attempts newest first (an attempt from before the webhook's last change
// says its body may have differed), the event linked, and while the
// attempt is under way htmx follows it until it ends.
func TestDeliveryPage(t *testing.T) {
	_, srv, c := newPagesConsole(t)
	page := get(t, c, srv.URL+"/console/deliveries/d2")
	for _, want := range []string{
		"&#34;orderId&#34;: 42", `data-copy="body-main"`, `href="/console/events/evt_1?tenantId=acme"`,
		`hx-get="/console/deliveries/d2?part=live" hx-trigger="every 1s"`, "the webhook changed after this attempt",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("delivery page lacks %s", want)
		}
	}
	if a2, a1 := strings.Index(page, `id="attempt-2"`), strings.Index(page, `id="attempt-1"`); a2 < 0 || a1 < a2 {
		t.Errorf("attempts not newest first: attempt-2 at %d, attempt-1 at %d", a2, a1)
	}
	if strings.Count(page, "the webhook changed after this attempt") != 1 {
		t.Error("attempt 2 started after the webhook's last change, so it sent the body shown")
	}
	live := get(t, c, srv.URL+"/console/deliveries/d2?part=live", "HX-Request", "true")
	if strings.Contains(live, "<html") || !strings.Contains(live, "hx-trigger") {
		t.Errorf("the live part while the attempt is under way:\n%.2000s", live)
	}
	live = get(t, c, srv.URL+"/console/deliveries/d2?part=live", "HX-Request", "true")
	if strings.Contains(live, "<html") || !strings.Contains(live, `id="live"`) || strings.Contains(live, "hx-trigger") {
		t.Errorf("the live part once the attempt ended:\n%.2000s", live)
	}
}

// TestDeliveryListShowsWhyThereIsNoStatusCode: a network failure shows its
// reason, not a dash.
func TestDeliveryListShowsWhyThereIsNoStatusCode(t *testing.T) {
	_, srv, c := newPagesConsole(t)
	if page := get(t, c, srv.URL+"/console/webhooks/w1/deliveries"); !strings.Contains(page, "connection refused") {
		t.Errorf("delivery list:\n%.3000s", page)
	}
}

// TestReplayAllAsksFirst: "Replay all" leads to a confirmation with the
// count; only the confirmation's POST replays.
func TestReplayAllAsksFirst(t *testing.T) {
	a, srv, c := newPagesConsole(t)
	page := get(t, c, srv.URL+"/console/dlq?eventType=order.created")
	if !strings.Contains(page, `<form method="get" action="/console/dlq/replay">`) || !strings.Contains(page, "Replay all 3…") {
		t.Fatalf("dead-letter queue:\n%.3000s", page)
	}
	confirm := get(t, c, srv.URL+"/console/dlq/replay?eventType=order.created")
	for _, want := range []string{"Replay 3 dead letters?", `<form method="post" action="/console/dlq/replay"`, `name="csrf"`,
		`name="eventType" value="order.created"`} {
		if !strings.Contains(confirm, want) {
			t.Errorf("confirmation lacks %s:\n%.3000s", want, confirm)
		}
	}
	for _, p := range a.posts {
		if !strings.Contains(p, `"dryRun":true`) {
			t.Errorf("a replay before the confirmation: %s", p)
		}
	}
}

// TestEventsPages: the list with its deliveries by status, an id search
// that goes to the event, and the event with its payload and deliveries.
func TestEventsPages(t *testing.T) {
	_, srv, c := newPagesConsole(t)
	list := get(t, c, srv.URL+"/console/events")
	if !strings.Contains(list, `href="/console/events/evt_1?tenantId=acme"`) || !strings.Contains(list, "badge-failed") {
		t.Errorf("events list:\n%.3000s", list)
	}
	resp, _ := do(t, c, "GET", srv.URL+"/console/events?id=evt_1&tenantId=acme", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/events/evt_1?tenantId=acme" {
		t.Errorf("search by id: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ev := get(t, c, srv.URL+"/console/events/evt_1?tenantId=acme")
	for _, want := range []string{"&#34;orderId&#34;: 42", `href="/console/deliveries/d2"`, `<a href="/console/webhooks/w1">orders</a>`} {
		if !strings.Contains(ev, want) {
			t.Errorf("event page lacks %s:\n%.3000s", want, ev)
		}
	}
}

// TestOpenMetadataFieldsFolded: entity types and the recipients sit in an
// "OpenMetadata" section of the webhook form.
func TestOpenMetadataFieldsFolded(t *testing.T) {
	_, srv, c := newPagesConsole(t)
	page := get(t, c, srv.URL+"/console/webhooks/new")
	fold := strings.Index(page, `<details class="openmetadata"`)
	end := strings.Index(page[max(fold, 0):], "</details>")
	if fold < 0 || end < 0 {
		t.Fatalf("no OpenMetadata section:\n%.4000s", page)
	}
	section := page[fold : fold+end]
	for _, field := range []string{`id="entities"`, `id="sendToAdmins"`, `id="sendToOwners"`, `id="sendToFollowers"`} {
		if !strings.Contains(section, field) {
			t.Errorf("OpenMetadata section lacks %s", field)
		}
	}
}

// TestOrderAndBreakerShown: the webhook page says how it orders and that
// the circuit breaker holds it (why, and the next probe); a delivery of a
// sequence says what it waits for.
func TestOrderAndBreakerShown(t *testing.T) {
	_, srv, c := newPagesConsole(t)
	page := get(t, c, srv.URL+"/console/webhooks/w2")
	for _, want := range []string{
		`badge-autoPaused`,
		"5 consecutive failed attempts since 2026-12-01T10:00:00Z; events are held, next probe 2025-12-01 12:01:00 UTC",
		"per <code>data.orderId</code>, a delivery out of retries blocks its key",
		"opens after 5 failed attempts over 1h",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the webhook page lacks %q:\n%.6000s", want, page)
		}
	}
	d := get(t, c, srv.URL+"/console/deliveries/d3")
	if want := `key <code>o-42</code>; waits for <a class="mono" href="/console/deliveries/d2">d2</a>`; !strings.Contains(d, want) {
		t.Errorf("the delivery page lacks %q:\n%.6000s", want, d)
	}
}

// TestWebhookPageShowsThePublicKey: a webhook signing with a whsk_ key
// shows the whpk_ key receivers verify with, and rotations can generate one.
func TestWebhookPageShowsThePublicKey(t *testing.T) {
	_, srv, c := newPagesConsole(t)
	page := get(t, c, srv.URL+"/console/webhooks/w1")
	if !strings.Contains(page, "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=") || !strings.Contains(page, `<option value="ed25519">`) {
		t.Fatalf("webhook page:\n%.3000s", page)
	}
}
