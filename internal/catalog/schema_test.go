package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// orderSchema is a strict schema of the kind the README's example uses.
const orderSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["orderId", "amount", "currency"],
  "additionalProperties": false,
  "properties": {
    "orderId": {"type": "integer"},
    "amount": {"type": "number", "minimum": 0},
    "currency": {"enum": ["EUR", "USD"]},
    "customer": {
      "type": "object",
      "required": ["email"],
      "properties": {"email": {"type": "string", "format": "email"}, "since": {"type": "string", "format": "date"}}
    },
    "items": {"type": "array", "maxItems": 3, "items": {"$ref": "#/$defs/item"}},
    "placedAt": {"type": "string", "format": "date-time"},
    "id": {"type": "string", "format": "uuid"},
    "note": {"type": ["string", "null"]},
    "a/b": {"type": "boolean"}
  },
  "$defs": {"item": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string", "minLength": 1}, "qty": {"type": "integer"}}}}
}`

func mustCompile(t testing.TB, schema string) *Schema {
	t.Helper()
	s, err := CompileSchema(json.RawMessage(schema))
	if err != nil {
		t.Fatalf("CompileSchema: %v", err)
	}
	return s
}

func TestValidateData(t *testing.T) {
	s := mustCompile(t, orderSchema)
	base := `"orderId": 42, "amount": 99.5, "currency": "EUR"`
	cases := []struct {
		data string
		want string // "" = valid
	}{
		{`{` + base + `}`, ""},
		{`{` + base + `, "note": null, "items": [{"sku": "a", "qty": 2}], "customer": {"email": "ann@example.com", "since": "2024-02-29"},
			"placedAt": "2026-01-01T10:00:00Z", "id": "0190a000-0000-7000-8000-000000000001", "a/b": true}`, ""},
		// Types.
		{`{"orderId": 42, "amount": "99.5", "currency": "EUR"}`, "/data/amount: expected number"},
		{`{"orderId": 4.2, "amount": 1, "currency": "EUR"}`, "/data/orderId: expected integer"},
		{`{` + base + `, "note": 5}`, "/data/note: expected null or string"},
		{`[1]`, "/data: expected object"},
		{``, "/data: expected object"},
		{`null`, "/data: expected object"},
		// Required, nested required.
		{`{"orderId": 42, "currency": "EUR"}`, "/data/amount: required"},
		{`{` + base + `, "customer": {}}`, "/data/customer/email: required"},
		// Enums.
		{`{"orderId": 42, "amount": 1, "currency": "GBP"}`, "/data/currency: value must be one of 'EUR', 'USD'"},
		// Nested paths through arrays and $ref.
		{`{` + base + `, "items": [{"sku": "a"}, {"sku": ""}]}`, "/data/items/1/sku: minLength: got 0, want 1"},
		{`{` + base + `, "items": [{"sku": "a", "qty": "2"}]}`, "/data/items/0/qty: expected integer"},
		{`{` + base + `, "items": [{}, {}, {}, {}]}`, "/data/items: maxItems: got 4, want 3"},
		// additionalProperties.
		{`{` + base + `, "discount": 5}`, "/data/discount: not allowed (additionalProperties)"},
		// A JSON pointer escapes '/' in a property name.
		{`{` + base + `, "a/b": "yes"}`, "/data/a~1b: expected boolean"},
		// Minimum.
		{`{"orderId": 42, "amount": -1, "currency": "EUR"}`, "/data/amount: minimum: got -1, want 0"},
		// Formats are asserted.
		{`{` + base + `, "customer": {"email": "not an address"}}`, "/data/customer/email: 'not an address' is not valid email"},
		{`{` + base + `, "placedAt": "yesterday"}`, "/data/placedAt: 'yesterday' is not valid date-time"},
		{`{` + base + `, "customer": {"email": "a@b.c", "since": "2023-02-29"}}`, "/data/customer/since: '2023-02-29' is not valid date"},
		{`{` + base + `, "id": "42"}`, "/data/id: '42' is not valid uuid"},
		// Not JSON.
		{`{"orderId":`, "/data: not valid JSON"},
	}
	for _, c := range cases {
		err := s.Validate(json.RawMessage(c.data))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.data, err)
			}
			continue
		}
		var de *DataError
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.data, err, c.want)
		}
	}
}

// TestValidateReportsOneFailure: with several problems, the one reported is
// the same every time (the first by place in the data).
func TestValidateReportsOneFailure(t *testing.T) {
	s := mustCompile(t, orderSchema)
	data := json.RawMessage(`{"orderId": "x", "amount": "y", "currency": "GBP", "zzz": 1}`)
	first := s.Validate(data).Error()
	for range 20 {
		if got := s.Validate(data).Error(); got != first {
			t.Fatalf("%s, then %s", first, got)
		}
	}
}

func TestValidateBranches(t *testing.T) {
	s := mustCompile(t, `{"properties": {"id": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
		"kind": {"oneOf": [{"type": "string"}, {"const": "x"}]}}}`)
	for data, want := range map[string]string{
		`{"id": 1.5}`:   "/data/id: matches none of the schemas of anyOf",
		`{"kind": 1}`:   "/data/kind: matches none of the schemas of oneOf",
		`{"kind": "x"}`: "/data/kind: matches more than one schema of oneOf (0 and 1)",
		`{"id": "a"}`:   "",
	} {
		err := s.Validate(json.RawMessage(data))
		if (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
			t.Errorf("%s: %v, want %q", data, err, want)
		}
	}
}

func TestCompileSchemaRefusals(t *testing.T) {
	cases := []struct{ schema, want string }{
		{`{"type": "strin"}`, "/type: value must be one of 'array', 'boolean'"},
		{`{"properties": {"a": {"minimum": "x"}}}`, "/properties/a/minimum: got string, want number"},
		{`{"required": "a"}`, "/required: got string, want array"},
		{`{"pattern": "(("}`, "/pattern: '((' is not valid regex"},
		{`{"$ref": "#/$defs/missing"}`, `json-pointer in "#/$defs/missing" not found`},
		{`{"$schema": "http://json-schema.org/draft-07/schema#"}`, `$schema must be "https://json-schema.org/draft/2020-12/schema"`},
		{`{"type":`, "not valid JSON"},
		// Nothing outside the document is ever fetched or read.
		{`{"$ref": "https://example.com/order.json"}`, "$ref https://example.com/order.json is outside the schema"},
		{`{"$ref": "other.json#/x"}`, "$ref https://schemas.webhookd.invalid/other.json is outside the schema"},
		{`{"$ref": "file:///etc/passwd"}`, "$ref file:///etc/passwd is outside the schema"},
		{`{"$id": "http://127.0.0.1:1/a.json", "$ref": "b.json"}`, "$ref http://127.0.0.1:1/b.json is outside the schema"},
		{`{"properties": {"a": {"$ref": "http://169.254.169.254/latest/meta-data"}}}`, "$ref http://169.254.169.254/latest/meta-data is outside the schema"},
	}
	for _, c := range cases {
		_, err := CompileSchema(json.RawMessage(c.schema))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s...", c.schema, err, c.want)
		}
	}
	// What compiles: in-document references, with or without an $id,
	// the meta-schema by name, boolean schemas.
	for _, ok := range []string{
		`{"$schema": "https://json-schema.org/draft/2020-12/schema#", "type": "object"}`,
		`{"$id": "https://example.com/order.json", "$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}`,
		`{"$defs": {"a": {"$anchor": "amt", "type": "number"}}, "properties": {"x": {"$ref": "#amt"}}}`,
		`true`, `{}`,
	} {
		if _, err := CompileSchema(json.RawMessage(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
