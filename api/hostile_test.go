package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// hostile is one request a client should never be able to turn into a 500:
// bytes PostgreSQL refuses (invalid UTF-8, NUL, lone surrogates, numbers
// past its numeric), in every place a client puts them (path, query,
// header, body), on every route that reads them.
type hostile struct {
	name   string
	method string
	path   string
	body   string
	header []string
	// field is what the answer's message must name.
	field string
}

// cursor is an after= cursor as the API would encode one, with a value
// inside it that the database refuses.
func cursor(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

// copyBomb is a JSON Patch of n copies of member into itself, each
// doubling the document: unbounded, 60 of them fit in a few KB of body.
func copyBomb(member string, n int) string {
	ops := make([]string, n)
	for i := range ops {
		ops[i] = fmt.Sprintf(`{"op":"copy","from":"/%s","path":"/%s/x%d"}`, member, member, i)
	}
	return "[" + strings.Join(ops, ",") + "]"
}

func hostileInputs(hookID, deliveryID string) []hostile {
	events := func(name, body, field string) hostile {
		return hostile{name: name, method: "POST", path: "/api/v1/events", body: body, field: field}
	}
	var out []hostile
	// Event data: what jsonb refuses, in data, entity and changeDescription,
	// single and batched.
	out = append(out,
		events("invalid UTF-8 in data", "{\"type\":\"t.hostile\",\"data\":{\"x\":\"HOSTILE\xff\"}}", "data.x"),
		events("lone high surrogate in data", `{"type":"t.hostile","data":{"x":"HOSTILE\ud800"}}`, "data.x"),
		events("lone low surrogate in data", `{"type":"t.hostile","data":["HOSTILE\udc00"]}`, "data[0]"),
		events("1e999999 in data", `{"type":"t.hostile","data":{"n":1e999999}}`, "data.n"),
		events("1e-999999 in data", `{"type":"t.hostile","data":{"n":1e-999999}}`, "data.n"),
		events("NUL in data", `{"type":"t.hostile","data":{"x":"HOSTILE\u0000"}}`, "data.x"),
		events("invalid UTF-8 in a data key", "{\"type\":\"t.hostile\",\"data\":{\"HOSTILE\xff\":1}}", "data"),
		events("encoded surrogate in entity", "{\"type\":\"t.hostile\",\"entity\":{\"name\":\"HOSTILE\xed\xa0\x80\"}}", "entity.name"),
		events("lone surrogate in changeDescription", `{"type":"t.hostile","changeDescription":{"fieldsAdded":[{"name":"HOSTILE\ud800"}]}}`, "changeDescription.fieldsAdded[0].name"),
		events("invalid UTF-8 in the type", "{\"type\":\"t.hostile\xff\"}", "type"),
		events("invalid UTF-8 in the id", "{\"id\":\"HOSTILE\xff\",\"type\":\"t.hostile\"}", "id"),
		hostile{name: "lone surrogate in a batched event", method: "POST", path: "/api/v1/events/batch",
			body: `{"events":[{"type":"t.hostile"},{"type":"t.hostile","data":"HOSTILE\ud800"}]}`, field: "events[1].data"},
		hostile{name: "1e999999 in a batched event", method: "POST", path: "/api/v1/events/batch",
			body: `{"events":[{"type":"t.hostile","data":{"n":[1e999999]}}]}`, field: "events[0].data.n[0]"},
		hostile{name: "invalid UTF-8 in a test sample", method: "POST", path: "/api/v1/webhooks/" + hookID + "/test",
			body: "{\"eventType\":\"entityCreated\",\"data\":\"HOSTILE\xff\"}", field: "data"},
		hostile{name: "invalid UTF-8 in a webhook's description", method: "POST", path: "/api/v1/webhooks",
			body:  "{\"name\":\"hostile\",\"webhookType\":\"Generic\",\"description\":\"HOSTILE\xff\",\"eventFilters\":[{\"eventType\":\"*\"}],\"webhookConfig\":{\"endpoint\":\"https://example.com/h\"}}",
			field: "description"},
		hostile{name: "lone surrogate in a replaced webhook", method: "PUT", path: "/api/v1/webhooks/" + hookID,
			body:  `{"name":"hostile","webhookType":"Generic","description":"HOSTILE\ud800","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"https://example.com/h"}}`,
			field: "description"},
		hostile{name: "lone surrogate in a patch", method: "PATCH", path: "/api/v1/webhooks/" + hookID,
			body: `[{"op":"add","path":"/description","value":"HOSTILE\ud800"}]`, header: []string{"Content-Type", "application/json-patch+json"},
			field: "[0].value"},
		hostile{name: "invalid UTF-8 in a DLQ replay filter", method: "POST", path: "/api/v1/dlq/replay",
			body: "{\"eventType\":\"HOSTILE\xff\",\"dryRun\":true}", field: "eventType"},
	)
	// Control and invisible characters in text fields: valid JSON, valid
	// UTF-8, storable, and still refused, naming the field.
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	webhook := func(name, field, displayName, description, headerValue, filter string) hostile {
		return hostile{name: name, method: "POST", path: "/api/v1/webhooks", field: field, body: fmt.Sprintf(
			`{"name":"hostile-ctl","displayName":%s,"description":%s,"webhookType":"Generic","eventFilters":[{"eventType":"*","filter":%s}],`+
				`"webhookConfig":{"endpoint":"https://example.com/h","headers":{"X-Team":%s}}}`,
			quote(displayName), quote(description), quote(filter), quote(headerValue))}
	}
	out = append(out,
		webhook("a bell in a displayName", "displayName", "HOSTILE\u0007", "", "a", ""),
		webhook("a right-to-left override in a displayName", "displayName", "HOSTILE\u202e", "", "a", ""),
		webhook("a zero-width space in a displayName", "displayName", "HOSTILE\u200b", "", "a", ""),
		webhook("a terminal escape in a description", "description", "", "HOSTILE\u001b[31m", "a", ""),
		webhook("a C1 control in a description", "description", "", "HOSTILE\u0085", "a", ""),
		webhook("a control character in a header value", "webhookConfig.headers.X-Team", "", "", "HOSTILE\u0001", ""),
		webhook("a line separator in a header value", "webhookConfig.headers.X-Team", "", "", "HOSTILE\u2028", ""),
		webhook("a control character in a content filter", "eventFilters[0].filter", "", "", "a", "HOSTILE\u0001"),
		events("a backspace in an entityType", `{"type":"t.hostile","entityType":"HOSTILE\u0008"}`, "entityType"),
		hostile{name: "a control character in a batched event's entityType", method: "POST", path: "/api/v1/events/batch",
			body: `{"events":[{"type":"t.hostile"},{"type":"t.hostile","entityType":"HOSTILE\u007f"}]}`, field: "events[1].entityType"},
		hostile{name: "NUL and a control character in a patched displayName", method: "PATCH", path: "/api/v1/webhooks/" + hookID,
			body: `[{"op":"add","path":"/displayName","value":"HOSTILE\u0000x\u0003"}]`, header: []string{"Content-Type", "application/json-patch+json"},
			field: "[0].value"},
		hostile{name: "a patch whose copies double the document", method: "PATCH", path: "/api/v1/webhooks/" + hookID,
			body: copyBomb("webhookConfig", 14), header: []string{"Content-Type", "application/json-patch+json"}, field: "copy"},
		hostile{name: "a control character in a patched displayName", method: "PATCH", path: "/api/v1/webhooks/" + hookID,
			body: `[{"op":"add","path":"/displayName","value":"HOSTILE\u0003"}]`, header: []string{"Content-Type", "application/json-patch+json"},
			field: "displayName"},
		hostile{name: "a control character in an event type's name", method: "POST", path: "/api/v1/event-types",
			body: `{"name":"t.hostile\u0001"}`, field: "name"},
		hostile{name: "a bidi override in an event type's description", method: "POST", path: "/api/v1/event-types",
			body: `{"name":"t.hostile","description":"HOSTILE\u2066"}`, field: "description"},
		hostile{name: "a control character in a DLQ replay filter", method: "POST", path: "/api/v1/dlq/replay",
			body: `{"eventType":"HOSTILE\u0001","dryRun":true}`, field: "eventType"},
		hostile{name: "a control character in a rotated secret", method: "POST", path: "/api/v1/webhooks/" + hookID + "/rotate-secret",
			body: `{"secretKey":"whsec_HOSTILE\u0001"}`, field: "secretKey"},
	)
	// Path parameters, sent to SQL or to Temporal as given.
	for _, bad := range []struct{ name, raw string }{{"%00", "HOSTILE%00"}, {"%FF", "HOSTILE%FF"}, {"%0A", "HOSTILE%0A"}} {
		out = append(out,
			hostile{name: bad.name + " in an event id", method: "GET", path: "/api/v1/events/" + bad.raw, field: "id"},
			hostile{name: bad.name + " in a webhook name", method: "GET", path: "/api/v1/webhooks/name/" + bad.raw, field: "name"},
			hostile{name: bad.name + " in a webhook id", method: "GET", path: "/api/v1/webhooks/" + bad.raw, field: "id"},
			hostile{name: bad.name + " in a delivery id", method: "GET", path: "/api/v1/deliveries/" + bad.raw, field: "id"},
			hostile{name: bad.name + " in a replayed delivery id", method: "POST", path: "/api/v1/deliveries/" + bad.raw + "/replay", field: "id"},
			hostile{name: bad.name + " in a DLQ job id", method: "GET", path: "/api/v1/dlq/replay/" + bad.raw, field: "id"},
			hostile{name: bad.name + " in a tenant id", method: "DELETE", path: "/api/v1/tenants/" + bad.raw, field: "tenantId"},
			hostile{name: bad.name + " in the DLQ's eventType", method: "GET", path: "/api/v1/dlq?eventType=" + bad.raw, field: "eventType"},
			hostile{name: bad.name + " in the events' type", method: "GET", path: "/api/v1/events?type=" + bad.raw, field: "type"},
			hostile{name: bad.name + " in a delivery log's eventType", method: "GET", path: "/api/v1/webhooks/" + hookID + "/deliveries?eventType=" + bad.raw, field: "eventType"},
			hostile{name: bad.name + " in the DLQ's webhookId", method: "GET", path: "/api/v1/dlq?webhookId=" + bad.raw, field: "webhookId"},
			hostile{name: bad.name + " in the tenants' cursor", method: "GET", path: "/api/v1/tenants?after=" + bad.raw, field: "after"},
			hostile{name: bad.name + " in a tenantId filter", method: "GET", path: "/api/v1/webhooks?tenantId=" + bad.raw, field: "tenantId"},
		)
	}
	// Cursors are base64 of JSON: what is inside reaches SQL too.
	for _, route := range []string{"/api/v1/webhooks", "/api/v1/events", "/api/v1/dlq", "/api/v1/webhooks/" + hookID + "/deliveries"} {
		out = append(out,
			hostile{name: "NUL inside a cursor for " + route, method: "GET",
				path: route + "?after=" + cursor(`{"n":"HOSTILE\u0000","i":"0190a000-0000-7000-8000-000000000001","c":"2024-01-01T00:00:00Z","t":"HOSTILE\u0000"}`), field: "after"},
			hostile{name: "invalid UTF-8 inside a cursor for " + route, method: "GET",
				path: route + "?after=" + cursor("{\"n\":\"HOSTILE\xff\",\"i\":\"0190a000-0000-7000-8000-000000000001\",\"t\":\"HOSTILE\xff\"}"), field: "after"},
		)
	}
	// Headers the API stores or compares.
	out = append(out,
		hostile{name: "invalid UTF-8 in X-Webhookd-User on a create", method: "POST", path: "/api/v1/webhooks",
			body:   `{"name":"hostile-user","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"https://example.com/h"}}`,
			header: []string{"X-Webhookd-User", "HOSTILE\xff"}, field: "X-Webhookd-User"},
		hostile{name: "invalid UTF-8 in X-Webhookd-User on a pause", method: "POST", path: "/api/v1/webhooks/" + hookID + "/pause",
			header: []string{"X-Webhookd-User", "HOSTILE\xff"}, field: "X-Webhookd-User"},
		hostile{name: "invalid UTF-8 in Idempotency-Key", method: "POST", path: "/api/v1/events", body: `{"type":"t.hostile"}`,
			header: []string{"Idempotency-Key", "HOSTILE\xff"}, field: "Idempotency-Key"},
		hostile{name: "invalid UTF-8 in If-Match", method: "PUT", path: "/api/v1/webhooks/" + hookID,
			body:   `{"name":"hostile","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"https://example.com/h"}}`,
			header: []string{"If-Match", "\"HOSTILE\xff\""}, field: "If-Match"},
	)
	_ = deliveryID
	return out
}

// TestHostileInputsAre4xxOnBothDatabases: every hostile input answers a
// 4xx naming its field, changes nothing, and reaches no log.
func TestHostileInputsAre4xxOnBothDatabases(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			logs := &lockedBuffer{}
			a := newAPI(t, d, withLog(logs))
			hook := a.do("POST", "/api/v1/webhooks", sampleWebhook("target"))
			if hook.Status != 201 {
				t.Fatalf("create: %d %s", hook.Status, hook.Body)
			}
			hookID := hook.json(t)["id"].(string)
			ds := seedDeliveries(t, a, hookID, 3, time.Now().Add(-time.Hour))
			before := snapshot(t, a, hookID)
			count := 0
			for _, h := range hostileInputs(hookID, ds[0].ID) {
				headers := h.header
				if h.body != "" && (len(headers) == 0 || headers[0] != "Content-Type") {
					headers = append([]string{"Content-Type", "application/json"}, headers...)
				}
				var body any
				if h.body != "" {
					body = []byte(h.body)
				}
				r := a.do(h.method, h.path, body, headers...)
				count++
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("%s: %s %s = %d %s; want a 4xx", h.name, h.method, h.path, r.Status, r.Body)
					continue
				}
				if msg := r.errorMessage(t); !strings.Contains(msg, h.field) {
					t.Errorf("%s: %d %q does not name %s", h.name, r.Status, msg, h.field)
				}
			}
			if after := snapshot(t, a, hookID); after != before {
				t.Errorf("hostile inputs changed stored state:\nbefore %s\nafter  %s", before, after)
			}
			if bytes.Contains(logs.Bytes(), []byte("HOSTILE")) {
				t.Errorf("a hostile value reached the log:\n%s", logs.Bytes())
			}
			t.Logf("%d hostile inputs, no 5xx", count)
		})
	}
}

// snapshot is what the hostile inputs must not change: the webhook as read,
// and how many webhooks and events there are.
func snapshot(t *testing.T, a *testAPI, hookID string) string {
	t.Helper()
	w := a.do("GET", "/api/v1/webhooks/"+hookID, nil).json(t)
	hooks := a.do("GET", "/api/v1/webhooks?include=all", nil).json(t)["paging"]
	events := a.do("GET", "/api/v1/events?limit=1000", nil).json(t)["data"].([]any)
	return fmt.Sprint(w["description"], w["updatedBy"], w["version"], w["paused"], hooks, len(events))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
