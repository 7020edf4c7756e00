package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func TestCheck(t *testing.T) {
	valid := func() models.EventType {
		return models.EventType{Name: "order.created", Description: "An order was placed.", Validate: true,
			Schema:   json.RawMessage(orderSchema),
			Examples: json.RawMessage(`[{"orderId": 1, "amount": 10, "currency": "EUR"}, {"orderId": 2, "amount": 0, "currency": "USD"}]`)}
	}
	cases := []struct {
		name   string
		change func(*models.EventType)
		path   string
		msg    string
	}{
		{"valid", func(*models.EventType) {}, "", ""},
		{"no schema, no validate", func(t *models.EventType) {
			t.Schema, t.Validate, t.Examples = nil, false, json.RawMessage(`[{"any": "thing"}]`)
		}, "", ""},
		{"null schema", func(t *models.EventType) { t.Schema, t.Validate = json.RawMessage(`null`), false }, "", ""},
		{"names as producers post them", func(t *models.EventType) { t.Name = "ingestion:run/failed_v2-x" }, "", ""},
		{"no name", func(t *models.EventType) { t.Name = "" }, "name", "required"},
		{"bad name", func(t *models.EventType) { t.Name = "order created" }, "name", "1-256 characters"},
		{"glob is no name", func(t *models.EventType) { t.Name = "order.*" }, "name", "1-256 characters"},
		{"long name", func(t *models.EventType) { t.Name = strings.Repeat("a", 257) }, "name", "1-256 characters"},
		{"reserved", func(t *models.EventType) { t.Name = "webhookd.test" }, "name", "webhookd.* names are webhookd's own"},
		{"reserved prefix", func(t *models.EventType) { t.Name = "webhookd.mine" }, "name", "webhookd.* names"},
		{"long description", func(t *models.EventType) { t.Description = strings.Repeat("d", 64<<10+1) }, "description", "at most 64 KiB"},
		{"bad schema", func(t *models.EventType) { t.Schema = json.RawMessage(`{"type": 5}`) }, "schema", "/type:"},
		{"remote schema", func(t *models.EventType) { t.Schema = json.RawMessage(`{"$ref": "https://example.com/s.json"}`) }, "schema", "$ref https://example.com/s.json is outside the schema"},
		{"validate without schema", func(t *models.EventType) { t.Schema = nil }, "validate", "needs a schema"},
		{"examples not a list", func(t *models.EventType) { t.Examples = json.RawMessage(`{"orderId": 1}`) }, "examples", "must be a JSON array"},
		{"example against its schema", func(t *models.EventType) {
			t.Examples = json.RawMessage(`[{"orderId": 1, "amount": 10, "currency": "EUR"}, {"orderId": 2, "amount": "ten", "currency": "EUR"}]`)
		}, "examples[1]/amount", "expected number"},
		{"example missing a field", func(t *models.EventType) { t.Examples = json.RawMessage(`[{"orderId": 1, "currency": "EUR"}]`) }, "examples[0]/amount", "required"},
		{"example that is not an object", func(t *models.EventType) { t.Examples = json.RawMessage(`[5]`) }, "examples[0]", "expected object"},
		{"examples checked without validate too", func(t *models.EventType) {
			t.Validate, t.Examples = false, json.RawMessage(`[{"orderId": 1, "amount": 1, "currency": "JPY"}]`)
		}, "examples[0]/currency", "value must be one of"},
	}
	for _, c := range cases {
		et := valid()
		c.change(&et)
		err := Check(&et)
		if c.path == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != c.path || !strings.HasPrefix(fe.Msg, c.msg) {
			t.Errorf("%s: %v, want %s: %s...", c.name, err, c.path, c.msg)
		}
	}
}
