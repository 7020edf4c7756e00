package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

func sampleWebhook(name string) map[string]any {
	return map[string]any{
		"name": name, "webhookType": "Generic",
		"eventFilters":  []any{map[string]any{"eventType": "entityCreated", "entities": []any{"table"}}},
		"webhookConfig": map[string]any{"endpoint": "https://example.com/hooks", "secretKey": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	}
}

// TestOpenMetadataExamplesRoundTrip posts every example webhook of
// OpenMetadata's documentation exactly as written and reads each back with
// the same values (secretKey and credential headers masked).
func TestOpenMetadataExamplesRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("testdata/openmetadata_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var examples []json.RawMessage
	if err := json.Unmarshal(raw, &examples); err != nil {
		t.Fatal(err)
	}
	if len(examples) != 6 {
		t.Fatalf("want the 6 documented examples, have %d", len(examples))
	}
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			a := newAPI(t, d)
			for _, ex := range examples {
				var want map[string]any
				if err := json.Unmarshal(ex, &want); err != nil {
					t.Fatal(err)
				}
				name := want["name"].(string)
				created := a.do("POST", "/api/v1/webhooks", []byte(ex))
				if created.Status != 201 {
					t.Fatalf("%s: create = %d %s", name, created.Status, created.Body)
				}
				id := created.json(t)["id"].(string)
				for _, path := range []string{"/api/v1/webhooks/" + id, "/api/v1/webhooks/name/" + name} {
					got := a.do("GET", path, nil)
					if got.Status != 200 {
						t.Fatalf("%s: GET %s = %d", name, path, got.Status)
					}
					body := got.json(t)
					cfg := want["webhookConfig"].(map[string]any)
					if cfg["secretKey"] != nil {
						cfg["secretKey"] = "********"
					}
					// Slack's path token reads back masked.
					cfg["endpoint"] = redact.Endpoint(cfg["endpoint"].(string))
					if headers, ok := cfg["headers"].(map[string]any); ok {
						for k := range headers {
							if redact.IsCredential(k) {
								headers[k] = "********"
							}
						}
					}
					if diff := subsetDiff("", want, body); diff != "" {
						t.Errorf("%s: read back differs: %s", name, diff)
					}
					if body["status"] != "active" || body["version"] != 0.1 || body["href"] == nil {
						t.Errorf("%s: status/version/href = %v %v %v", name, body["status"], body["version"], body["href"])
					}
				}
			}
			list := a.do("GET", "/api/v1/webhooks?limit=100", nil).json(t)
			if total := list["paging"].(map[string]any)["total"]; total != float64(6) {
				t.Fatalf("total = %v, want 6", total)
			}
		})
	}
}

// subsetDiff reports the first value in want that got lacks or differs on.
func subsetDiff(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", path, got)
		}
		for k, v := range w {
			if d := subsetDiff(path+"."+k, v, g[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, got)
		}
		for i := range w {
			if d := subsetDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("%s: want %v, got %v", path, want, got)
	}
	return ""
}

func TestSecretNeverReadBackUnmasked(t *testing.T) {
	a := newAPI(t, store.Postgres)
	r := a.do("POST", "/api/v1/webhooks", sampleWebhook("secretive"))
	if r.Status != 201 || strings.Contains(string(r.Body), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
		t.Fatalf("create answer leaks the secret or failed: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	for _, path := range []string{"/api/v1/webhooks/" + id, "/api/v1/webhooks/name/secretive", "/api/v1/webhooks"} {
		if body := string(a.do("GET", path, nil).Body); strings.Contains(body, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") || !strings.Contains(body, "********") {
			t.Fatalf("GET %s leaks or drops the secret: %s", path, body)
		}
	}
	// Sending the read document back keeps the stored secret.
	doc := a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)
	doc["description"] = "round trip"
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
		t.Fatalf("PUT of a read document = %d %s", r.Status, r.Body)
	}
	w, err := a.store.GetWebhook(t.Context(), id)
	if err != nil || w.SecretKey != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" || w.Description != "round trip" {
		t.Fatalf("stored webhook after PUT: %+v %v", w, err)
	}
}

func TestWebhookValidation(t *testing.T) {
	type edit func(m map[string]any)
	cfg := func(m map[string]any) map[string]any { return m["webhookConfig"].(map[string]any) }
	cases := []struct {
		name   string
		body   any // a raw string, or an edit of sampleWebhook
		status int
		field  string
	}{
		{"malformed JSON", `{"name": "x",`, 400, "malformed JSON"},
		{"not an object", `[1,2]`, 400, "object"},
		{"unknown field", edit(func(m map[string]any) { m["colour"] = "red" }), 400, "colour"},
		{"wrong type", edit(func(m map[string]any) { cfg(m)["timeout"] = "ten" }), 400, "webhookConfig.timeout"},
		{"missing name", edit(func(m map[string]any) { delete(m, "name") }), 422, "name"},
		{"bad name", edit(func(m map[string]any) { m["name"] = "has space" }), 422, "name"},
		{"long name", edit(func(m map[string]any) { m["name"] = strings.Repeat("a", 129) }), 422, "name"},
		{"unknown webhookType", edit(func(m map[string]any) { m["webhookType"] = "Discord" }), 422, "webhookType"},
		{"no webhookType", edit(func(m map[string]any) { delete(m, "webhookType") }), 422, "webhookType"},
		{"no filters", edit(func(m map[string]any) { m["eventFilters"] = []any{} }), 422, "eventFilters"},
		{"empty eventType", edit(func(m map[string]any) { m["eventFilters"] = []any{map[string]any{"eventType": ""}} }), 422, "eventFilters[0].eventType"},
		{"bad glob", edit(func(m map[string]any) { m["eventFilters"] = []any{map[string]any{"eventType": "a[b"}} }), 422, "eventFilters[0].eventType"},
		{"no webhookConfig", edit(func(m map[string]any) { delete(m, "webhookConfig") }), 422, "webhookConfig"},
		{"no endpoint", edit(func(m map[string]any) { delete(cfg(m), "endpoint") }), 422, "webhookConfig.endpoint"},
		{"ftp endpoint", edit(func(m map[string]any) { cfg(m)["endpoint"] = "ftp://example.com/x" }), 422, "webhookConfig.endpoint"},
		{"relative endpoint", edit(func(m map[string]any) { cfg(m)["endpoint"] = "/hooks" }), 422, "webhookConfig.endpoint"},
		{"credentials in URL", edit(func(m map[string]any) { cfg(m)["endpoint"] = "https://u:p@example.com/" }), 422, "webhookConfig.endpoint"},
		{"IPv6 zone", edit(func(m map[string]any) { cfg(m)["endpoint"] = "http://[fd00:ec2::254%25eth0]/latest" }), 422, "webhookConfig.endpoint"},
		{"timeout 0", edit(func(m map[string]any) { cfg(m)["timeout"] = 0 }), 422, "webhookConfig.timeout"},
		{"timeout 61", edit(func(m map[string]any) { cfg(m)["timeout"] = 61 }), 422, "webhookConfig.timeout"},
		{"bad whsec secret", edit(func(m map[string]any) { cfg(m)["secretKey"] = "whsec_!!!" }), 422, "webhookConfig.secretKey"},
		{"reserved header", edit(func(m map[string]any) { cfg(m)["headers"] = map[string]any{"X-Webhook-Signature": "x"} }), 422, "webhookConfig.headers.X-Webhook-Signature"},
		{"header injection", edit(func(m map[string]any) { cfg(m)["headers"] = map[string]any{"X-A": "a\r\nX-B: b"} }), 400, "webhookConfig.headers.X-A"}, // a control character: refused at decode
		{"non-JSON content type", edit(func(m map[string]any) { cfg(m)["headers"] = map[string]any{"Content-Type": "text/plain"} }), 422, "webhookConfig.headers.Content-Type"},
		{"batchSize 0", edit(func(m map[string]any) { m["batchSize"] = 0 }), 422, "batchSize"},
		{"maxConcurrency 0", edit(func(m map[string]any) { cfg(m)["maxConcurrency"] = 0 }), 422, "webhookConfig.maxConcurrency"},
		{"maxConcurrency 1001", edit(func(m map[string]any) { cfg(m)["maxConcurrency"] = 1001 }), 422, "webhookConfig.maxConcurrency"},
		{"rateLimit 0", edit(func(m map[string]any) { cfg(m)["rateLimit"] = 0 }), 422, "webhookConfig.rateLimit"},
		{"rateLimit over 10000", edit(func(m map[string]any) { cfg(m)["rateLimit"] = 10001 }), 422, "webhookConfig.rateLimit"},
		{"tag without FQN", edit(func(m map[string]any) { m["tags"] = []any{map[string]any{"name": "x"}} }), 422, "tags[0].tagFQN"},
		{"owner without type", edit(func(m map[string]any) { m["owner"] = map[string]any{"name": "x"} }), 422, "owner.type"},
		{"template on Generic", edit(func(m map[string]any) { cfg(m)["payloadTemplate"] = `{}` }), 422, "webhookConfig.payloadTemplate"},
		{"bad template", edit(func(m map[string]any) { m["webhookType"] = "Custom"; cfg(m)["payloadTemplate"] = `{{.Nope` }), 422, "webhookConfig.payloadTemplate"},
		{"template over its render budget", edit(func(m map[string]any) {
			m["webhookType"] = "Custom"
			cfg(m)["payloadTemplate"] = `{{range .Envelope.data}}{{range $.Envelope.data}}{{end}}{{end}}{}`
		}), 422, "webhookConfig.payloadTemplate: trial render with a sample message whose data has 400 fields: payloadTemplate:1:32: render budget exceeded"},
	}
	a := newAPI(t, store.Postgres)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if e, ok := c.body.(edit); ok {
				m := sampleWebhook("valid-name")
				e(m)
				body = m
			}
			r := a.do("POST", "/api/v1/webhooks", body)
			if r.Status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if msg := r.errorMessage(t); !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %q", msg, c.field)
			}
		})
	}
	// Bad input changed nothing.
	if total := a.do("GET", "/api/v1/webhooks", nil).json(t)["paging"].(map[string]any)["total"]; total != float64(0) {
		t.Fatalf("rejected requests stored webhooks: total %v", total)
	}
}

// TestWebhookValidationReportsEveryField: one answer names every field
// that is wrong, in the order checked, so a form can show them all at once.
func TestWebhookValidationReportsEveryField(t *testing.T) {
	a := newAPI(t, store.Postgres)
	m := sampleWebhook("has space")
	c := m["webhookConfig"].(map[string]any)
	c["endpoint"] = "ftp://example.com/x"
	c["timeout"] = 61
	c["headers"] = map[string]any{"X-Webhook-Id": "x", "Content-Type": "text/plain"}
	r := a.do("POST", "/api/v1/webhooks", m)
	if r.Status != 422 {
		t.Fatalf("status = %d, want 422: %s", r.Status, r.Body)
	}
	var body struct {
		Code, Message string
		Errors        []struct{ Field, Message string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := []string{"name", "webhookConfig.endpoint", "webhookConfig.headers.Content-Type", "webhookConfig.headers.X-Webhook-Id", "webhookConfig.timeout"}
	var got []string
	for _, e := range body.Errors {
		got = append(got, e.Field)
		if e.Message == "" || !strings.Contains(body.Message, e.Field+": "+e.Message) {
			t.Errorf("%s: message %q, and the summary %q does not carry it", e.Field, e.Message, body.Message)
		}
	}
	if body.Code != "invalid_field" || !slices.Equal(got, want) {
		t.Fatalf("code %q, fields %q, want %q", body.Code, got, want)
	}
	// One problem keeps the single-message answer.
	m = sampleWebhook("valid-name")
	m["webhookConfig"].(map[string]any)["timeout"] = 0
	if r := a.do("POST", "/api/v1/webhooks", m); r.Status != 422 || strings.Contains(string(r.Body), `"errors"`) {
		t.Fatalf("one problem: %d %s", r.Status, r.Body)
	}
}

func TestPrivateEndpointRefusedAtCreateUnlessAllowed(t *testing.T) {
	a := newAPI(t, store.Postgres, withPrivateEndpoints(false))
	for _, ep := range []string{"http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]/x", "http://10.1.2.3/x", "http://169.254.169.254/latest"} {
		m := sampleWebhook("private")
		m["webhookConfig"].(map[string]any)["endpoint"] = ep
		r := a.do("POST", "/api/v1/webhooks", m)
		if r.Status != 422 || !strings.Contains(r.errorMessage(t), "ALLOW_PRIVATE_ENDPOINTS") {
			t.Errorf("%s: %d %s", ep, r.Status, r.Body)
		}
	}
	allowed := newAPI(t, store.Postgres, withPrivateEndpoints(true))
	m := sampleWebhook("private")
	m["webhookConfig"].(map[string]any)["endpoint"] = "http://127.0.0.1:9000/x"
	if r := allowed.do("POST", "/api/v1/webhooks", m); r.Status != 201 {
		t.Fatalf("allowed private endpoint: %d %s", r.Status, r.Body)
	}
}

func TestBodyLimit(t *testing.T) {
	a := newAPI(t, store.Postgres)
	m := sampleWebhook("big")
	m["description"] = strings.Repeat("x", 1<<20)
	r := a.do("POST", "/api/v1/webhooks", m)
	if r.Status != 413 {
		t.Fatalf("status = %d, want 413", r.Status)
	}
	r.errorMessage(t)
}

func TestDuplicateNameConflicts(t *testing.T) {
	a := newAPI(t, store.Postgres)
	if r := a.do("POST", "/api/v1/webhooks", sampleWebhook("same")); r.Status != 201 {
		t.Fatal(r.Status)
	}
	r := a.do("POST", "/api/v1/webhooks", sampleWebhook("same"))
	if r.Status != 409 || !strings.Contains(r.errorMessage(t), "same") {
		t.Fatalf("duplicate = %d %s", r.Status, r.Body)
	}
}

func TestListPaging(t *testing.T) {
	a := newAPI(t, store.Postgres)
	for i := range 25 {
		if r := a.do("POST", "/api/v1/webhooks", sampleWebhook(fmt.Sprintf("hook-%02d", i))); r.Status != 201 {
			t.Fatal(r.Status)
		}
	}
	var names []string
	after := ""
	for pages := 0; pages < 10; pages++ {
		path := "/api/v1/webhooks?limit=10"
		if after != "" {
			path += "&after=" + after
		}
		page := a.do("GET", path, nil).json(t)
		for _, w := range page["data"].([]any) {
			names = append(names, w.(map[string]any)["name"].(string))
		}
		p := page["paging"].(map[string]any)
		if p["total"] != float64(25) {
			t.Fatalf("total = %v", p["total"])
		}
		next, _ := p["after"].(string)
		if next == "" {
			break
		}
		after = next
	}
	if len(names) != 25 || names[0] != "hook-00" || names[24] != "hook-24" {
		t.Fatalf("paged names = %v", names)
	}
	for _, bad := range []string{"limit=0", "limit=abc", "limit=100000", "after=garbage!"} {
		if r := a.do("GET", "/api/v1/webhooks?"+bad, nil); r.Status != 400 {
			t.Errorf("%s: status %d", bad, r.Status)
		}
	}
}

func TestPutPatchDelete(t *testing.T) {
	a := newAPI(t, store.Postgres)
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("editable")).json(t)["id"].(string)
	path := "/api/v1/webhooks/" + id

	put := sampleWebhook("editable")
	put["description"] = "replaced"
	put["enabled"] = false
	r := a.do("PUT", path, put)
	if r.Status != 200 {
		t.Fatalf("PUT = %d %s", r.Status, r.Body)
	}
	body := r.json(t)
	if body["description"] != "replaced" || body["enabled"] != false || body["status"] != "disabled" || body["version"] != 0.2 {
		t.Fatalf("after PUT: %v", body)
	}

	patch := `[{"op":"replace","path":"/enabled","value":true},{"op":"add","path":"/webhookConfig/headers","value":{"X-Team":"data"}}]`
	r = a.do("PATCH", path, patch, "Content-Type", "application/json-patch+json")
	if r.Status != 200 {
		t.Fatalf("PATCH = %d %s", r.Status, r.Body)
	}
	body = r.json(t)
	if body["enabled"] != true || body["status"] != "active" || body["version"] != 0.3 ||
		body["webhookConfig"].(map[string]any)["headers"].(map[string]any)["X-Team"] != "data" {
		t.Fatalf("after PATCH: %v", body)
	}

	before := a.do("GET", path, nil).Body
	failing := []struct{ patch, contentType string }{
		{`[{"op":"replace","path":"/webhookConfig/endpoint","value":"not a url"}]`, "application/json-patch+json"},
		{`[{"op":"replace","path":"/status","value":"failed"}]`, "application/json-patch+json"},
		{`[{"op":"remove","path":"/nosuchfield"}]`, "application/json-patch+json"},
		{`[{"op":"test","path":"/name","value":"other"},{"op":"replace","path":"/description","value":"x"}]`, "application/json-patch+json"},
		{`{"op":"replace"}`, "application/json-patch+json"},
		{`[{"op":"replace","path":"/description","value":"x"}]`, "application/json"},
	}
	for _, f := range failing {
		r := a.do("PATCH", path, f.patch, "Content-Type", f.contentType)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("patch %s: status %d, want 4xx", f.patch, r.Status)
		}
		r.errorMessage(t)
	}
	if after := a.do("GET", path, nil).Body; string(after) != string(before) {
		t.Fatalf("a failing patch changed the webhook:\nbefore %s\nafter  %s", before, after)
	}

	if r := a.do("DELETE", path, nil); r.Status != 200 || r.json(t)["deleted"] != true {
		t.Fatalf("soft delete = %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", path, nil); r.Status != 404 {
		t.Fatalf("GET after soft delete = %d", r.Status)
	}
	if r := a.do("GET", path+"?include=deleted", nil); r.Status != 200 {
		t.Fatalf("GET ?include=deleted = %d", r.Status)
	}
	if r := a.do("DELETE", path+"?hardDelete=true", nil); r.Status != 200 {
		t.Fatalf("hard delete = %d", r.Status)
	}
	if r := a.do("GET", path+"?include=all", nil); r.Status != 404 {
		t.Fatalf("GET after hard delete = %d", r.Status)
	}
	if r := a.do("GET", "/api/v1/webhooks/not-a-uuid", nil); r.Status != 404 {
		t.Fatalf("GET of a malformed id = %d, want 404", r.Status)
	}
}

func TestListFiltersByStatusAndPaused(t *testing.T) {
	a := newAPI(t, store.Postgres)
	ids := map[string]string{}
	for _, name := range []string{"ok", "off", "held"} {
		ids[name] = a.do("POST", "/api/v1/webhooks", sampleWebhook(name)).json(t)["id"].(string)
	}
	if r := a.do("PATCH", "/api/v1/webhooks/"+ids["off"], `[{"op":"replace","path":"/enabled","value":false}]`,
		"Content-Type", "application/json-patch+json"); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := a.do("POST", "/api/v1/webhooks/"+ids["held"]+"/pause", nil); r.Status != 200 {
		t.Fatalf("pause: %d %s", r.Status, r.Body)
	}
	names := func(q string) string {
		t.Helper()
		r := a.do("GET", "/api/v1/webhooks?"+q, nil)
		if r.Status != 200 {
			t.Fatalf("?%s: %d %s", q, r.Status, r.Body)
		}
		var out []string
		for _, w := range r.json(t)["data"].([]any) {
			out = append(out, w.(map[string]any)["name"].(string))
		}
		return strings.Join(out, " ")
	}
	for q, want := range map[string]string{
		"status=active": "held ok", "status=disabled": "off", "paused=true": "held",
		"status=active&paused=false": "ok", "status=retryLimitReached": "",
	} {
		if got := names(q); got != want {
			t.Errorf("?%s = %q, want %q", q, got, want)
		}
	}
	for _, q := range []string{"status=paused", "status=Active", "paused=yes"} {
		if r := a.do("GET", "/api/v1/webhooks?"+q, nil); r.Status != 400 || !strings.HasPrefix(r.errorMessage(t), strings.Split(q, "=")[0]+":") {
			t.Errorf("?%s: %d %s", q, r.Status, r.Body)
		}
	}
}

// TestLimitsRoundTrip: maxConcurrency reads back with its default, rateLimit
// only when set; a read document PUT back keeps both.
func TestLimitsRoundTrip(t *testing.T) {
	a := newAPI(t, store.Postgres)
	plain := a.do("POST", "/api/v1/webhooks", sampleWebhook("plain")).json(t)
	if c := plain["webhookConfig"].(map[string]any); c["maxConcurrency"] != float64(10) || c["rateLimit"] != nil {
		t.Fatalf("defaults read back as %v", c)
	}
	m := sampleWebhook("limited")
	m["webhookConfig"].(map[string]any)["maxConcurrency"] = 2
	m["webhookConfig"].(map[string]any)["rateLimit"] = 0.5
	got := a.do("POST", "/api/v1/webhooks", m).json(t)
	c := got["webhookConfig"].(map[string]any)
	if c["maxConcurrency"] != float64(2) || c["rateLimit"] != 0.5 {
		t.Fatalf("limits read back as %v", c)
	}
	id := got["id"].(string)
	if r := a.do("PUT", "/api/v1/webhooks/"+id, got); r.Status != 200 {
		t.Fatalf("PUT of the read document: %d %s", r.Status, r.Body)
	}
	stats := a.do("GET", "/api/v1/webhooks/"+id+"/stats", nil).json(t)["limits"].(map[string]any)
	if stats["maxConcurrency"] != float64(2) || stats["rateLimit"] != 0.5 || stats["inFlight"] != float64(0) {
		t.Fatalf("stats limits %v", stats)
	}
}
