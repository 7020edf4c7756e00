package api_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/webhookd/webhookd/internal/store"
)

const invoiceSchema = `{"type": "object", "required": ["invoiceId", "amount", "currency"], "additionalProperties": false,
  "properties": {"invoiceId": {"type": "string"}, "amount": {"type": "number", "minimum": 0},
    "currency": {"type": "string", "enum": ["EUR", "USD"]}, "customer": {"type": "object", "required": ["email"],
      "properties": {"email": {"type": "string", "format": "email"}}}}}`

func invoiceType(extra map[string]any) map[string]any {
	doc := map[string]any{"name": "invoice.paid", "description": "An invoice was paid in full.",
		"schema": json.RawMessage(invoiceSchema), "examples": []any{map[string]any{"invoiceId": "in_1", "amount": 120.5, "currency": "EUR"}},
		"validate": true}
	for k, v := range extra {
		doc[k] = v
	}
	return doc
}

func TestEventTypeLifecycle(t *testing.T) {
	a := newAPI(t, store.Postgres)
	r := a.do("POST", "/api/v1/event-types", invoiceType(nil))
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	id := doc["id"].(string)
	if doc["tenantId"] != "default" || doc["version"] != 1.0 || doc["validate"] != true || doc["global"] != false ||
		doc["builtIn"] != false || r.Header.Get("Location") != "/api/v1/event-types/"+id {
		t.Fatalf("created: %s (Location %q)", r.Body, r.Header.Get("Location"))
	}
	// The schema reads back as written: key order kept (generated types
	// follow it).
	if got := string(doc["schema"].(map[string]any)["required"].([]any)[0].(string)); got != "invoiceId" ||
		!strings.Contains(string(r.Body), `"schema":{"type":"object","required":["invoiceId","amount","currency"]`) {
		t.Fatalf("schema changed on the way: %s", r.Body)
	}
	if r := a.do("GET", "/api/v1/event-types/"+id, nil); r.Status != 200 || r.json(t)["name"] != "invoice.paid" {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/api/v1/event-types/name/invoice.paid", nil); r.Status != 200 || r.json(t)["id"] != id {
		t.Fatalf("get by name: %d %s", r.Status, r.Body)
	}
	// A read document PUT back changes nothing (the map reorders the
	// schema's keys; the stored text keeps its order).
	if r := a.do("PUT", "/api/v1/event-types/"+id, doc); r.Status != 200 || r.json(t)["version"] != 1.0 {
		t.Fatalf("PUT of the read document: %d %s", r.Status, r.Body)
	}
	patch := func(ops string) response {
		return a.do("PATCH", "/api/v1/event-types/"+id, ops, "Content-Type", "application/json-patch+json")
	}
	if r := patch(`[{"op":"replace","path":"/deprecated","value":true}]`); r.Status != 200 || r.json(t)["version"] != 2.0 || r.json(t)["deprecated"] != true {
		t.Fatalf("deprecate: %d %s", r.Status, r.Body)
	}
	// Refusals, each naming the field, none changing the type.
	for _, c := range []struct {
		method string
		body   any
		status int
		want   string
	}{
		{"PATCH", `[{"op":"replace","path":"/version","value":9}]`, 422, "version: read-only"},
		{"PATCH", `[{"op":"replace","path":"/name","value":"invoice.settled"}]`, 422, "name: set when the type is created; it cannot change"},
		{"PATCH", `[{"op":"replace","path":"/schema/properties/amount/type","value":"numbr"}]`, 422, "schema: /properties/amount/type: "},
		{"PATCH", `[{"op":"replace","path":"/examples/0/amount","value":"12"}]`, 422, "examples[0]/amount: expected number"},
		{"PATCH", `[{"op":"remove","path":"/schema"}]`, 422, "validate: needs a schema to validate against"},
		{"PATCH", copyBomb("schema", 16), 422, "patch: Unable to complete the copy"},
		{"PUT", invoiceType(map[string]any{"tenantId": "beta"}), 422, "tenantId: set when the type is created; it cannot change"},
		{"PUT", invoiceType(map[string]any{"schema": json.RawMessage(`{"$ref": "https://example.com/s.json"}`)}), 422, "schema: $ref "},
	} {
		var r response
		if c.method == "PATCH" {
			r = patch(c.body.(string))
		} else {
			r = a.do(c.method, "/api/v1/event-types/"+id, c.body)
		}
		if r.Status != c.status || !strings.HasPrefix(r.errorMessage(t), c.want) {
			t.Errorf("%s %v: %d %s, want %d %s...", c.method, c.body, r.Status, r.Body, c.status, c.want)
		}
	}
	if r := a.do("GET", "/api/v1/event-types/"+id, nil); r.json(t)["version"] != 2.0 {
		t.Fatalf("a refused write changed the type: %s", r.Body)
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{invoiceType(nil), `an event type named "invoice.paid" already exists`},
		{map[string]any{"name": "webhookd.mine"}, "name: webhookd.* names are webhookd's own event types"},
		{map[string]any{"name": "no spaces"}, "name: 1-256 characters"},
	} {
		if r := a.do("POST", "/api/v1/event-types", c.body); (r.Status != 409 && r.Status != 422) || !strings.HasPrefix(r.errorMessage(t), c.want) {
			t.Errorf("create %v: %d %s, want %s", c.body, r.Status, r.Body, c.want)
		}
	}
	// Built-in types are listed, read by id (their name) and read-only.
	if r := a.do("GET", "/api/v1/event-types/webhookd.test", nil); r.Status != 200 || r.json(t)["builtIn"] != true {
		t.Fatalf("a built-in type: %d %s", r.Status, r.Body)
	}
	if r := a.do("DELETE", "/api/v1/event-types/webhookd.test", nil); r.Status != 409 {
		t.Fatalf("delete a built-in type: %d %s", r.Status, r.Body)
	}
	// Delete: gone, its name free again.
	if r := a.do("DELETE", "/api/v1/event-types/"+id, nil); r.Status != 200 || r.json(t)["deleted"] != true {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/api/v1/event-types/"+id, nil); r.Status != 404 {
		t.Fatalf("a deleted type: %d", r.Status)
	}
	if r := a.do("POST", "/api/v1/event-types", invoiceType(nil)); r.Status != 201 {
		t.Fatalf("the name again: %d %s", r.Status, r.Body)
	}
	// Names may hold slashes, by name too.
	if r := a.do("POST", "/api/v1/event-types", map[string]any{"name": "billing/invoice.voided"}); r.Status != 201 {
		t.Fatalf("a name with a slash: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/api/v1/event-types/name/billing%2Finvoice.voided", nil); r.Status != 200 || r.json(t)["name"] != "billing/invoice.voided" {
		t.Fatalf("by name, the slash encoded: %d %s", r.Status, r.Body)
	}
	// As is, too (past the contract check: OpenAPI cannot describe a
	// parameter that holds a slash).
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/event-types/name/billing/invoice.voided", nil)
	req.Host = "127.0.0.1" // a Host the API answers to
	a.handler.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"billing/invoice.voided"`) {
		t.Fatalf("by name, the slash as is: %d %s", rec.Code, rec.Body)
	}
}

// TestTenantsSeeTheirOwnAndGlobalTypesOnly: a tenant lists, reads and
// exports its own types, the global ones and the built-in ones, never
// another tenant's; only the admin writes global types.
func TestTenantsSeeTheirOwnAndGlobalTypesOnly(t *testing.T) {
	a := tenantAPI(t, store.Postgres)
	acme, beta := a.mint("acme", false), a.mint("beta", false)
	create := func(token string, body map[string]any) map[string]any {
		t.Helper()
		r := a.as(token, "POST", "/api/v1/event-types", body)
		if r.Status != 201 {
			t.Fatalf("create %v: %d %s", body, r.Status, r.Body)
		}
		return r.json(t)
	}
	own := create(acme, map[string]any{"name": "invoice.paid"})
	other := create(beta, map[string]any{"name": "shipment.sent"})
	global := create(a.token, map[string]any{"tenantId": "*", "name": "user.signed_up"})
	if global["global"] != true || global["tenantId"] != "*" {
		t.Fatalf("a global type: %v", global)
	}
	names := func(token, query string) []string {
		t.Helper()
		var out []string
		after := ""
		for {
			r := a.as(token, "GET", "/api/v1/event-types?limit=3"+query+after, nil)
			if r.Status != 200 {
				t.Fatalf("list: %d %s", r.Status, r.Body)
			}
			var page struct {
				Data []struct {
					Name string `json:"name"`
				} `json:"data"`
				Paging struct {
					After string `json:"after"`
				} `json:"paging"`
			}
			if err := json.Unmarshal(r.Body, &page); err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Data {
				out = append(out, d.Name)
			}
			if page.Paging.After == "" {
				return out
			}
			after = "&after=" + page.Paging.After
		}
	}
	builtins := "webhookd.batch webhookd.test webhookd.webhook.disabled webhookd.webhook.failing webhookd.webhook.recovered webhookd.webhook.retryLimitReached"
	if got := strings.Join(names(acme, ""), " "); got != "invoice.paid user.signed_up "+builtins {
		t.Errorf("acme's catalog: %s", got)
	}
	if got := strings.Join(names(a.token, ""), " "); got != "invoice.paid shipment.sent user.signed_up "+builtins {
		t.Errorf("the admin's catalog: %s", got)
	}
	if got := strings.Join(names(a.token, "&tenantId=beta"), " "); got != "shipment.sent user.signed_up "+builtins {
		t.Errorf("beta's catalog, as the admin reads it: %s", got)
	}
	// Another tenant's type is not found, by id or by name; a global one is.
	for _, c := range []struct {
		path string
		want int
	}{
		{"/api/v1/event-types/" + other["id"].(string), 404},
		{"/api/v1/event-types/name/shipment.sent", 404},
		{"/api/v1/event-types/" + global["id"].(string), 200},
		{"/api/v1/event-types/name/user.signed_up", 200},
		{"/api/v1/event-types/" + own["id"].(string), 200},
	} {
		if r := a.as(acme, "GET", c.path, nil); r.Status != c.want {
			t.Errorf("acme GET %s: %d, want %d", c.path, r.Status, c.want)
		}
	}
	// Only the admin writes global types.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/event-types", map[string]any{"tenantId": "*", "name": "team.created"}},
		{"PUT", "/api/v1/event-types/" + global["id"].(string), map[string]any{"name": "user.signed_up", "description": "x"}},
		{"DELETE", "/api/v1/event-types/" + global["id"].(string), nil},
	} {
		if r := a.as(acme, c.method, c.path, c.body); r.Status != 403 {
			t.Errorf("acme %s %s: %d %s, want 403", c.method, c.path, r.Status, r.Body)
		}
	}
	// A name every tenant sees cannot be taken by one, nor the other way.
	if r := a.as(beta, "POST", "/api/v1/event-types", map[string]any{"name": "user.signed_up"}); r.Status != 409 {
		t.Errorf("beta takes a global type's name: %d %s", r.Status, r.Body)
	}
	if r := a.do("POST", "/api/v1/event-types", map[string]any{"tenantId": "*", "name": "invoice.paid"}); r.Status != 409 {
		t.Errorf("a global type takes acme's type's name: %d %s", r.Status, r.Body)
	}
	// The export holds acme's catalog only.
	r := a.as(acme, "GET", "/api/v1/event-types/openapi.json", nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	var exported struct {
		Webhooks map[string]any `json:"webhooks"`
	}
	if err := json.Unmarshal(r.Body, &exported); err != nil {
		t.Fatal(err)
	}
	if exported.Webhooks["invoice.paid"] == nil || exported.Webhooks["user.signed_up"] == nil ||
		exported.Webhooks["shipment.sent"] != nil || exported.Webhooks["webhookd.test"] == nil {
		t.Fatalf("acme's export has %v", keysOf(exported.Webhooks))
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestStrictTypesOnIngest: over HTTP, an event of a strict type whose data
// does not match answers 422 naming the path, and in a batch the event's
// index too; nothing is stored. A schema change applies to the next event.
func TestStrictTypesOnIngest(t *testing.T) {
	a := newAPI(t, store.Postgres)
	db := inspect(t, a)
	r := a.do("POST", "/api/v1/event-types", invoiceType(nil))
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	good := map[string]any{"invoiceId": "in_1", "amount": 12, "currency": "EUR"}
	if r := a.do("POST", "/api/v1/events", map[string]any{"type": "invoice.paid", "data": good}); r.Status != 202 {
		t.Fatalf("a valid event: %d %s", r.Status, r.Body)
	}
	before := db.Dump()
	for _, c := range []struct {
		path string
		body any
		want string
	}{
		{"/api/v1/events", map[string]any{"type": "invoice.paid", "data": map[string]any{"invoiceId": "in_2", "amount": "12", "currency": "EUR"}},
			"/data/amount: expected number"},
		{"/api/v1/events", map[string]any{"type": "invoice.paid", "data": map[string]any{"invoiceId": "in_2", "amount": 1, "currency": "GBP"}},
			"/data/currency: value must be one of 'EUR', 'USD'"},
		{"/api/v1/events", map[string]any{"type": "invoice.paid", "data": map[string]any{"invoiceId": "in_2", "amount": 1, "currency": "EUR",
			"customer": map[string]any{"email": "nope"}}}, "/data/customer/email: 'nope' is not valid email: missing @"},
		{"/api/v1/events", map[string]any{"type": "invoice.paid"}, "/data: expected object"},
		{"/api/v1/events/batch", map[string]any{"events": []any{
			map[string]any{"id": "b-1", "type": "invoice.paid", "data": good},
			map[string]any{"id": "b-2", "type": "order.created"},
			map[string]any{"id": "b-3", "type": "invoice.paid", "data": map[string]any{"invoiceId": "in_3", "currency": "EUR"}},
		}}, "events[2]/data/amount: required"},
	} {
		r := a.do("POST", c.path, c.body)
		if r.Status != 422 || r.json(t)["code"] != "invalid_field" || r.errorMessage(t) != c.want {
			t.Errorf("POST %s %v: %d %s, want 422 %s", c.path, c.body, r.Status, r.Body, c.want)
		}
	}
	if db.Dump() != before {
		t.Fatal("a refused event was stored")
	}
	// The schema changes: amount may be a string now.
	r = a.do("PATCH", "/api/v1/event-types/"+id, `[{"op":"replace","path":"/schema/properties/amount","value":{"type":"string"}},
		{"op":"replace","path":"/examples/0/amount","value":"120.50"}]`, "Content-Type", "application/json-patch+json")
	if r.Status != 200 {
		t.Fatalf("change the schema: %d %s", r.Status, r.Body)
	}
	stringAmount := map[string]any{"invoiceId": "in_4", "amount": "12.00", "currency": "EUR"}
	if r := a.do("POST", "/api/v1/events", map[string]any{"type": "invoice.paid", "data": stringAmount}); r.Status != 202 {
		t.Fatalf("the next event, of the new schema: %d %s", r.Status, r.Body)
	}
	if r := a.do("POST", "/api/v1/events", map[string]any{"type": "invoice.paid", "data": good}); r.Status != 422 {
		t.Fatalf("the next event, of the old schema: %d %s", r.Status, r.Body)
	}
}

// TestContentFiltersOverHTTP: a webhook's content filter is checked when
// saved (the compiler's message and place, the cost refusal), read back as
// written, decides which events it gets, and its stats say what it matched.
func TestContentFiltersOverHTTP(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := func(filter string) map[string]any {
		h := sampleWebhook("big-orders")
		h["eventFilters"] = []any{map[string]any{"eventType": "order.*", "filter": filter}}
		return h
	}
	for _, c := range []struct{ filter, want string }{
		{`data.amount >`, "eventFilters[0].filter: line 1, column 14: Syntax error: mismatched input '<EOF>'"},
		{`amount > 100`, "eventFilters[0].filter: line 1, column 1: undeclared reference to 'amount'"},
		{`data.amount + 1`, "eventFilters[0].filter: must be a condition (bool), not"},
		{`data.items.exists(i, data.items.exists(j, i.price > j.price))`, "eventFilters[0].filter: may cost up to"},
	} {
		r := a.do("POST", "/api/v1/webhooks", hook(c.filter))
		if r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.want) {
			t.Errorf("%s: %d %s, want %s...", c.filter, r.Status, r.Body, c.want)
		}
	}
	expr := `data.amount > 100 && data.currency == "EUR"`
	r := a.do("POST", "/api/v1/webhooks", hook(expr))
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	if f := doc["eventFilters"].([]any)[0].(map[string]any); f["filter"] != expr {
		t.Fatalf("read back: %v", f)
	}
	for i, c := range []struct {
		data string
		want int
	}{
		{`{"amount": 150, "currency": "EUR"}`, 1},
		{`{"amount": 150, "currency": "USD"}`, 0},
		{`{"amount": 50, "currency": "EUR"}`, 0},
		{`{"currency": "EUR"}`, 0},
	} {
		r := a.do("POST", "/api/v1/events", fmt.Sprintf(`{"id": "evt-%d", "type": "order.created", "data": %s}`, i, c.data))
		if r.Status != 202 || len(r.json(t)["deliveries"].([]any)) != c.want {
			t.Errorf("%s: %d %s, want %d deliveries", c.data, r.Status, r.Body, c.want)
		}
	}
	// The stats say what the filter saw and let through.
	if err := a.ingester.WriteCounts(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = a.do("GET", "/api/v1/webhooks/"+doc["id"].(string)+"/stats", nil)
	filters, _ := json.Marshal(r.json(t)["eventFilters"])
	if want := `[{"eventType":"order.*","filter":` + mustJSON(expr) + `,"matched":1,"seen":4}]`; string(filters) != want {
		t.Fatalf("stats: %s, want eventFilters %s", r.Body, want)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestExportValidatesAndRoundTripsAnExample: the exported document is a
// valid OpenAPI 3.1 document (kin-openapi), and a type's example, wrapped
// in its envelope as the document shows it, validates against the request
// body the document declares for that type.
func TestExportValidatesAndRoundTripsAnExample(t *testing.T) {
	a := newAPI(t, store.Postgres)
	if r := a.do("POST", "/api/v1/event-types", invoiceType(nil)); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r := a.do("GET", "/api/v1/event-types/openapi.json", nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the export is not a valid OpenAPI document: %v", err)
	}
	op := doc.Webhooks["invoice.paid"].Post
	media := op.RequestBody.Value.Content["application/json"]
	example := media.Examples["example1"].Value.Value
	if err := media.Schema.Value.VisitJSON(example); err != nil {
		t.Fatalf("the example does not validate against the request body: %v", err)
	}
	env := example.(map[string]any)
	if env["event"] != "invoice.paid" || env["data"].(map[string]any)["invoiceId"] != "in_1" {
		t.Fatalf("example envelope: %v", env)
	}
	// And a mismatch does not.
	env["data"].(map[string]any)["amount"] = "12"
	if err := media.Schema.Value.VisitJSON(env); err == nil {
		t.Fatal("a string amount validated")
	}
}

// TestEventTypeWritesStayInTheirTenant: a read-only token writes no type;
// a tenant cannot change or delete another tenant's type (it is not
// found, and stays as it was), nor read another tenant's export; two
// tenants may each have a type of one name.
func TestEventTypeWritesStayInTheirTenant(t *testing.T) {
	a := tenantAPI(t, store.Postgres)
	acme, beta, reader := a.mint("acme", false), a.mint("beta", false), a.mint("acme", true)
	r := a.as(acme, "POST", "/api/v1/event-types", map[string]any{"name": "invoice.paid", "description": "acme's"})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	path := "/api/v1/event-types/" + id
	patch := []string{"Content-Type", "application/json-patch+json"}
	for _, c := range []struct {
		token, method, path string
		body                any
		headers             []string
		want                int
	}{
		{reader, "POST", "/api/v1/event-types", map[string]any{"name": "order.paid"}, nil, 403},
		{reader, "PUT", path, map[string]any{"name": "invoice.paid", "description": "x"}, nil, 403},
		{reader, "PATCH", path, []map[string]any{{"op": "replace", "path": "/description", "value": "x"}}, patch, 403},
		{reader, "DELETE", path, nil, nil, 403},
		{beta, "PUT", path, map[string]any{"name": "invoice.paid", "description": "x"}, nil, 404},
		{beta, "PATCH", path, []map[string]any{{"op": "replace", "path": "/description", "value": "x"}}, patch, 404},
		{beta, "DELETE", path, nil, nil, 404},
		{beta, "GET", "/api/v1/event-types/openapi.json?tenantId=acme", nil, nil, 403},
		{beta, "POST", "/api/v1/event-types", map[string]any{"tenantId": "acme", "name": "order.paid"}, nil, 403},
	} {
		if r := a.as(c.token, c.method, c.path, c.body, c.headers...); r.Status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.want)
		}
	}
	if r := a.as(acme, "GET", path, nil); r.Status != 200 || r.json(t)["description"] != "acme's" || r.json(t)["version"] != 1.0 {
		t.Errorf("acme's type after the refused writes: %d %s", r.Status, r.Body)
	}
	if r := a.as(reader, "GET", path, nil); r.Status != 200 {
		t.Errorf("a read-only token reads: %d %s", r.Status, r.Body)
	}
	if r := a.as(beta, "POST", "/api/v1/event-types", map[string]any{"name": "invoice.paid"}); r.Status != 201 {
		t.Errorf("beta's own invoice.paid: %d %s", r.Status, r.Body)
	}
}
