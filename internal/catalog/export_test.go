package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/webhookd/webhookd/models"
)

func catalogTypes() []models.EventType {
	return append([]models.EventType{
		{ID: "1", TenantID: "acme", Name: "order.created", Description: "An order was placed.", Validate: true,
			Schema:   json.RawMessage(orderSchema),
			Examples: json.RawMessage(`[{"orderId": 1, "amount": 10, "currency": "EUR", "items": [{"sku": "a", "qty": 1}]}, {"orderId": 2, "amount": 0, "currency": "USD"}]`)},
		{ID: "2", TenantID: "acme", Name: "legacy.ping", Deprecated: true, Examples: json.RawMessage(`[{"anything": true}]`)},
		{ID: "3", TenantID: models.GlobalTenant, Name: "ingestion:run/failed", Description: "A global type.",
			Schema: json.RawMessage(`{"type": "object", "properties": {"runId": {"type": "string"}}}`)},
		{ID: "4", TenantID: "acme", Name: "ingestion_run_failed"},
		{ID: "5", TenantID: "acme", Name: "gone.type", Deleted: true},
	}, Builtins()...)
}

func loadExport(t *testing.T, tenant string) (*openapi3.T, []byte) {
	t.Helper()
	raw, err := OpenAPI(catalogTypes(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, raw)
	}
	if err := doc.Validate(loader.Context); err != nil { // examples included
		t.Fatalf("the exported document is not valid OpenAPI: %v", err)
	}
	return doc, raw
}

func TestOpenAPIExportValidates(t *testing.T) {
	doc, _ := loadExport(t, "acme")
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	var names []string
	for name := range doc.Webhooks {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"ingestion:run/failed", "ingestion_run_failed", "legacy.ping", "order.created", "webhookd.batch", "webhookd.test",
		"webhookd.webhook.disabled", "webhookd.webhook.failing", "webhookd.webhook.recovered", "webhookd.webhook.retryLimitReached"}
	if !slices.Equal(names, want) {
		t.Fatalf("webhooks %v, want %v (deleted types left out)", names, want)
	}
	if !doc.Webhooks["legacy.ping"].Post.Deprecated || doc.Webhooks["order.created"].Post.Deprecated {
		t.Error("deprecated is not carried over")
	}
	// Two names that make the same component key get distinct keys.
	a, b := doc.Webhooks["ingestion:run/failed"].Post.OperationID, doc.Webhooks["ingestion_run_failed"].Post.OperationID
	if a == b {
		t.Errorf("one component key for two types: %s", a)
	}
	// The signature headers are documented on every webhook.
	op := doc.Webhooks["order.created"].Post
	var headers []string
	for _, p := range op.Parameters {
		if p.Value.In == "header" {
			headers = append(headers, strings.ToLower(p.Value.Name))
		}
	}
	for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "x-webhook-signature", "x-webhook-id", "x-event-type"} {
		if !slices.Contains(headers, h) {
			t.Errorf("header %s is not documented: %v", h, headers)
		}
	}
	if op.Description != "An order was placed." || op.RequestBody.Value.Content.Get("application/json") == nil {
		t.Errorf("order.created: %+v", op)
	}
}

// TestOpenAPIExportRoundTrip: a type's example, as the exported document
// shows it, is valid against the exported request body, and data that the
// type's schema refuses is refused by the exported one too (through the
// schema's own $defs).
func TestOpenAPIExportRoundTrip(t *testing.T) {
	doc, _ := loadExport(t, "acme")
	body := func(name string) *openapi3.MediaType {
		return doc.Webhooks[name].Post.RequestBody.Value.Content.Get("application/json")
	}
	visit := func(s *openapi3.Schema, raw string) error {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		return s.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	for _, name := range []string{"order.created", "legacy.ping", "webhookd.batch", "webhookd.webhook.failing", "webhookd.test"} {
		mt := body(name)
		if len(mt.Examples) == 0 {
			t.Errorf("%s: no examples", name)
		}
		for key, ex := range mt.Examples {
			raw, _ := json.Marshal(ex.Value.Value)
			if err := visit(mt.Schema.Value, string(raw)); err != nil {
				t.Errorf("%s %s does not round-trip: %v\n%s", name, key, err, raw)
			}
			var env map[string]any
			json.Unmarshal(raw, &env)
			if env["event"] != name || env["tenantId"] != "acme" {
				t.Errorf("%s %s: envelope %v", name, key, env)
			}
		}
	}
	order := body("order.created").Schema.Value
	good := `{"id": "e", "version": "1", "event": "order.created", "timestamp": "2026-01-01T00:00:00.000Z", "webhookName": "w",
		"data": {"orderId": 1, "amount": 1, "currency": "EUR", "items": [{"sku": "a"}]}}`
	if err := visit(order, good); err != nil {
		t.Fatalf("good data refused: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"amount": 1`, `"amount": "1"`, 1),
		strings.Replace(good, `"sku": "a"`, `"sku": ""`, 1), // through #/$defs/item
		strings.Replace(good, `"event": "order.created"`, `"event": "order.paid"`, 1),
		strings.Replace(good, `"currency": "EUR"`, `"currency": "EUR", "extra": 1`, 1),
	} {
		if err := visit(order, bad); err == nil {
			t.Errorf("the exported schema takes %s", bad)
		}
	}
	// The default tenant's envelopes carry no tenantId.
	doc, _ = loadExport(t, models.DefaultTenant)
	for _, ex := range doc.Webhooks["order.created"].Post.RequestBody.Value.Content.Get("application/json").Examples {
		if _, ok := ex.Value.Value.(map[string]any)["tenantId"]; ok {
			t.Error("a default-tenant example has a tenantId")
		}
	}
}

// TestExportSchemas: a schema's top-level $defs become components of their
// own and every reference follows its target; data keywords, other
// documents and anchors are left alone, and so is the text around them.
func TestExportSchemas(t *testing.T) {
	in := `{"type": "object",
  "properties": {"z": {"$ref": "#/$defs/a"}, "enum": {"items": {"$ref" : "#/$defs/a"}}, "a": {"const": {"$ref": "#/$defs/a"}},
    "p": {"$ref": "#/$defs/a/properties/p"}, "s": {"$ref": "#/$defs/x~1y"}, "self": {"$ref": "#/properties/z"}, "anchored": {"$ref": "#here"}},
  "enum": [{"$ref": "#/x"}], "default": {"$ref": "#/y"},
  "allOf": [{"$ref": "https://example.com/s.json"}, {"$ref": "#"}],
  "$defs": {"a": {"type": "object", "properties": {"p": {"type": "string"}, "back": {"$ref": "#/$defs/x~1y"}}}, "x/y": {"$anchor": "here", "type": "integer"}}}`
	taken := map[string]bool{"k": true}
	got, err := exportSchemas(json.RawMessage(in), "k", taken)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"k": `{"type": "object", "properties": {"z": {"$ref": "#/components/schemas/k.a"}, "enum": {"items": {"$ref" : "#/components/schemas/k.a"}}, "a": {"const": {"$ref": "#/$defs/a"}},
    "p": {"$ref": "#/components/schemas/k.a/properties/p"}, "s": {"$ref": "#/components/schemas/k.x_y"}, "self": {"$ref": "#/components/schemas/k/properties/z"}, "anchored": {"$ref": "#here"}}, "enum": [{"$ref": "#/x"}], "default": {"$ref": "#/y"}, "allOf": [{"$ref": "https://example.com/s.json"}, {"$ref": "#/components/schemas/k"}]}`,
		"k.a":   `{"type": "object", "properties": {"p": {"type": "string"}, "back": {"$ref": "#/components/schemas/k.x_y"}}}`,
		"k.x_y": `{"$anchor": "here", "type": "integer"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("components %v", got)
	}
	for k, w := range want {
		if string(got[k]) != w {
			t.Errorf("%s:\n%s\nwant:\n%s", k, got[k], w)
		}
	}
	if !taken["k.a"] || !taken["k.x_y"] {
		t.Errorf("the hoisted keys are not taken: %v", taken)
	}
	withID := `{"$id": "https://example.com/o.json", "properties": {"x": {"$ref": "#/$defs/a"}}, "$defs": {"a": {}}}`
	if got, _ := exportSchemas(json.RawMessage(withID), "k", map[string]bool{}); len(got) != 1 || string(got["k"]) != withID {
		t.Errorf("a schema with an $id changed: %v", got)
	}
	if got, _ := exportSchemas(json.RawMessage(`true`), "k", map[string]bool{}); string(got["k"]) != "true" {
		t.Errorf("a boolean schema: %v", got)
	}
}

// TestExportedReferencesResolve: every schema the catalog takes exports to
// a document OpenAPI tools load. A percent-encoded pointer is followed to
// its hoisted definition; references the export cannot carry over (an
// $anchor's name, into a nested $id, under a top-level $id) are refused
// when the type is saved, since one of them made the whole tenant's
// export unloadable.
func TestExportedReferencesResolve(t *testing.T) {
	encoded := `{"type": "object", "properties": {"a": {"$ref": "#/$defs/my%20def"}, "b": {"$ref": "#/$defs/my%20def/properties/x%20y"}},
		"$defs": {"my def": {"type": "object", "properties": {"x y": {"type": "string"}}}}}`
	ty := models.EventType{ID: "1", TenantID: "acme", Name: "t.x", Schema: json.RawMessage(encoded),
		Examples: json.RawMessage(`[{"a": {"x y": "s"}, "b": "s"}]`)}
	if err := Check(&ty); err != nil {
		t.Fatalf("a percent-encoded pointer: %v", err)
	}
	raw, err := OpenAPI([]models.EventType{ty}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for name, schema := range map[string]string{
		"an anchor": `{"type": "object", "properties": {"a": {"$ref": "#a1"}}, "$defs": {"x": {"$anchor": "a1", "type": "string"}}}`,
		"a nested $id": `{"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}},
			"$defs": {"x": {"$id": "https://x.invalid/x.json", "$defs": {"y": {"type": "string"}}, "properties": {"b": {"$ref": "#/$defs/y"}}}}}`,
		"a top-level $id": `{"$id": "https://x.invalid/o.json", "properties": {"x": {"$ref": "#/$defs/a"}}, "$defs": {"a": {}}}`,
	} {
		err := Check(&models.EventType{Name: "t.x", Schema: json.RawMessage(schema)})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "schema" || !strings.Contains(fe.Msg, "OpenAPI export") {
			t.Errorf("%s: %v, want a refusal naming the export", name, err)
		}
	}
}

// TestExportIsStable: the same catalog exports to the same bytes whatever
// order the types come in, so a receiver's generated code changes only
// when the catalog does.
func TestExportIsStable(t *testing.T) {
	types := catalogTypes()
	first, err := OpenAPI(types, "acme")
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(types)
	again, err := OpenAPI(types, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(again) {
		t.Fatal("the export depends on the order of the types")
	}
}
