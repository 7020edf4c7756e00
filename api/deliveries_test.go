package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// seedDeliveries stores n deliveries for the webhook, one event each, one
// second apart, alternating type and status.
func seedDeliveries(t *testing.T, a *testAPI, webhookID string, n int, base time.Time) []models.Delivery {
	t.Helper()
	var out []models.Delivery
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		typ, status := "order.created", models.DeliverySucceeded
		if i%2 == 1 {
			typ = "order.paid"
		}
		if i%3 == 0 {
			status = models.DeliveryFailed
		}
		ev := &models.Event{ID: fmt.Sprintf("evt-%s-%d", webhookID[:8], i), Type: typ, Timestamp: at, CreatedAt: at}
		d := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), EventID: ev.ID, WebhookID: webhookID, EventType: typ,
			Status: status, Trigger: models.TriggerScheduled, CreatedAt: at, UpdatedAt: at}
		if _, _, _, err := a.store.IngestEvent(t.Context(), ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func listIDs(t *testing.T, a *testAPI, path string) (ids []string, after string) {
	t.Helper()
	r := a.do("GET", path, nil)
	if r.Status != 200 {
		t.Fatalf("GET %s = %d %s", path, r.Status, r.Body)
	}
	var body struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Paging struct {
			After string `json:"after"`
		} `json:"paging"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, d := range body.Data {
		ids = append(ids, d.ID)
	}
	return ids, body.Paging.After
}

func TestDeliveryLogFiltersAndPaging(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hookID := a.do("POST", "/api/v1/webhooks", sampleWebhook("logged")).json(t)["id"].(string)
	otherID := a.do("POST", "/api/v1/webhooks", sampleWebhook("other")).json(t)["id"].(string)
	base := store.Now().Add(-time.Hour)
	ds := seedDeliveries(t, a, hookID, 12, base)
	seedDeliveries(t, a, otherID, 5, base)
	log := "/api/v1/webhooks/" + hookID + "/deliveries"

	count := func(query string) int {
		ids, _ := listIDs(t, a, log+"?limit=100&"+query)
		return len(ids)
	}
	ts := func(i int) string {
		return url.QueryEscape(base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano))
	}
	for q, want := range map[string]int{
		"":                                   12,
		"status=failed":                      4, // 0, 3, 6, 9
		"status=succeeded":                   8,
		"eventType=order.paid":               6,
		"status=failed&eventType=order.paid": 2, // 3, 9
		"since=" + ts(6):                     6,
		"until=" + ts(6):                     6,
		"since=" + ts(3) + "&until=" + ts(5): 2,
		"status=pending":                     0,
	} {
		if got := count(q); got != want {
			t.Errorf("?%s: %d deliveries, want %d", q, got, want)
		}
	}

	// Pages of 5 while new deliveries keep arriving: every original delivery
	// exactly once, newest first, nothing new in later pages.
	var paged []string
	path := log + "?limit=5"
	for i := 0; ; i++ {
		ids, after := listIDs(t, a, path)
		paged = append(paged, ids...)
		seedDeliveries(t, a, hookID, 1, store.Now().Add(time.Duration(i)*time.Millisecond))
		if after == "" {
			break
		}
		path = log + "?limit=5&after=" + after
	}
	if len(paged) != 12 {
		t.Fatalf("paged %d deliveries, want 12", len(paged))
	}
	for i, id := range paged {
		if id != ds[11-i].ID {
			t.Fatalf("page order broken at %d", i)
		}
	}

	for _, bad := range []string{"status=bogus", "since=yesterday", "until=2024-13-01", "limit=0", "after=%25%25"} {
		r := a.do("GET", log+"?"+bad, nil)
		if r.Status != 400 {
			t.Errorf("?%s: status %d, want 400", bad, r.Status)
		}
		r.errorMessage(t)
	}
	if r := a.do("GET", "/api/v1/webhooks/"+uuid.NewString()+"/deliveries", nil); r.Status != 404 {
		t.Fatalf("unknown webhook: %d", r.Status)
	}

	// The dead-letter queue across webhooks, and narrowed to one.
	if ids, _ := listIDs(t, a, "/api/v1/dlq?limit=100"); len(ids) != 4+2 {
		t.Fatalf("dlq = %d entries, want 6", len(ids))
	}
	if ids, _ := listIDs(t, a, "/api/v1/dlq?limit=100&webhookId="+otherID); len(ids) != 2 {
		t.Fatalf("dlq for one webhook = %d, want 2", len(ids))
	}
	if ids, _ := listIDs(t, a, "/api/v1/dlq?webhookId=not-a-uuid"); len(ids) != 0 {
		t.Fatalf("dlq for a malformed webhook id = %d entries", len(ids))
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2024-01-01T00:00:00Z","i":"nope"}`))
	if r := a.do("GET", log+"?after="+forged, nil); r.Status != 400 {
		t.Fatalf("forged cursor = %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/api/v1/dlq?status=succeeded", nil); r.Status != 400 {
		t.Fatalf("dlq with another status = %d", r.Status)
	}
}

func TestDeliveryDetailAndEvent(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hookID := a.do("POST", "/api/v1/webhooks", sampleWebhook("detailed")).json(t)["id"].(string)
	d := seedDeliveries(t, a, hookID, 1, store.Now())[0]
	code := 502
	now := store.Now()
	if err := a.store.RecordAttempt(t.Context(), store.AttemptResult{DeliveryID: d.ID, WebhookID: hookID,
		DeliveryStatus: models.DeliveryAwaitingRetry, WebhookStatus: models.WebhookAwaitingRetry,
		Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: "https://example.com/hooks",
			RequestHeaders: map[string]string{"Authorization": "********", "X-Webhook-Id": d.EventID}, ResponseStatus: &code,
			ResponseHeaders: map[string]string{"Server": "nginx"}, ResponseBody: "bad gateway", DurationMs: 42,
			StartedAt: now, FinishedAt: now}}); err != nil {
		t.Fatal(err)
	}
	r := a.do("GET", "/api/v1/deliveries/"+d.ID, nil)
	if r.Status != 200 {
		t.Fatalf("GET delivery = %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{`"status":"awaitingRetry"`, `"attempts":1`, `"lastStatusCode":502`, `"lastResponseTimeMs":42`,
		`"statusCode":502`, `"body":"bad gateway"`, `"Authorization":"********"`, `"trigger":"scheduled"`, `"durationMs":42`} {
		if !strings.Contains(body, want) {
			t.Errorf("delivery detail lacks %s: %s", want, body)
		}
	}
	ev := a.do("GET", "/api/v1/events/"+d.EventID, nil)
	if ev.Status != 200 || !strings.Contains(string(ev.Body), d.ID) {
		t.Fatalf("GET event = %d %s", ev.Status, ev.Body)
	}
	if r := a.do("GET", "/api/v1/deliveries/"+uuid.NewString(), nil); r.Status != 404 {
		t.Fatalf("unknown delivery = %d", r.Status)
	}
	if r := a.do("GET", "/api/v1/events/nope", nil); r.Status != 404 {
		t.Fatalf("unknown event = %d", r.Status)
	}
}

func TestEventValidation(t *testing.T) {
	a := newAPI(t, store.Postgres)
	cases := []struct {
		body, header, field string
		status              int
	}{
		{`{"data":{}}`, "", "type", 422},
		{`{"type":"has space"}`, "", "type", 422},
		{`{"type":"x","entity":[1]}`, "", "entity", 422},
		{`{"type":"x","changeDescription":"no"}`, "", "changeDescription", 422},
		{`{"type":"x","changeDescription":{"fieldsAdded":"x"}}`, "", "changeDescription", 422},
		{`{"type":"x","data":{"a":"nul\u0000byte"}}`, "", "NUL", 400},
		{`{"type":"x","timestamp":"yesterday"}`, "", "timestamp", 422},
		{`{"type":"x","id":"a b"}`, "", "id", 422},
		{`{"type":"x","id":"one"}`, "two", "Idempotency-Key", 422},
		{`{"type":"x","extra":1}`, "", "extra", 400},
		{`{"type":`, "", "malformed JSON", 400},
	}
	for _, c := range cases {
		var hdr []string
		if c.header != "" {
			hdr = []string{"Idempotency-Key", c.header}
		}
		r := a.do("POST", "/api/v1/events", c.body, hdr...)
		if r.Status != c.status || !strings.Contains(r.errorMessage(t), c.field) {
			t.Errorf("%s: %d %s, want %d naming %s", c.body, r.Status, r.Body, c.status, c.field)
		}
	}
	// Accepted: no webhook matches, so no workflow is needed.
	r := a.do("POST", "/api/v1/events", `{"type":"x","timestamp":1705314600000}`, "Idempotency-Key", "key-1")
	if r.Status != 202 || r.json(t)["id"] != "key-1" {
		t.Fatalf("valid event = %d %s", r.Status, r.Body)
	}
	again := a.do("POST", "/api/v1/events", `{"type":"x"}`, "Idempotency-Key", "key-1")
	if again.Status != 202 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(r.Body) {
		t.Fatalf("repeat = %d %s", again.Status, again.Body)
	}
	ev := a.do("GET", "/api/v1/events/key-1", nil).json(t)
	if ev["timestamp"] != "2024-01-15T10:30:00.000Z" {
		t.Fatalf("stored event = %v", ev)
	}
}
