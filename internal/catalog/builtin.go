package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/webhookd/webhookd/models"
)

// The names of webhookd's own event types. The operational ones are
// written by the store (health.go), the test type by the test button, the
// batch type by batched delivery; a test checks the names agree.
const (
	TypeWebhookFailing           = "webhookd.webhook.failing"
	TypeWebhookRetryLimitReached = "webhookd.webhook.retryLimitReached"
	TypeWebhookDisabled          = "webhookd.webhook.disabled"
	TypeWebhookRecovered         = "webhookd.webhook.recovered"
	TypeTest                     = "webhookd.test"
	TypeBatch                    = "webhookd.batch"
)

// builtinEpoch is the created and updated time of every built-in type: they
// change only with webhookd's code.
var builtinEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// healthSchema is the data of an operational event.
const healthSchema = `{
  "type": "object",
  "required": ["webhookId", "webhookName", "status", "failureDetails"],
  "properties": {
    "webhookId": {"type": "string", "format": "uuid", "description": "The webhook whose health changed."},
    "webhookName": {"type": "string"},
    "status": {"enum": ["active", "awaitingRetry", "retryLimitReached", "disabled", "failed"], "description": "Its status now."},
    "failureDetails": {
      "type": "object",
      "properties": {
        "lastFailedAt": {"type": "integer", "description": "Epoch milliseconds."},
        "lastFailedStatusCode": {"type": "integer"},
        "lastFailedReason": {"type": "string"},
        "nextAttempt": {"type": "integer", "description": "Epoch milliseconds of the next retry."}
      }
    }
  }
}`

// healthExample is the data of an operational event reporting status.
func healthExample(status string) string {
	details := `{}`
	switch status {
	case "awaitingRetry":
		details = `{"lastFailedAt": 1767225600000, "lastFailedStatusCode": 503, "lastFailedReason": "503 Service Unavailable", "nextAttempt": 1767225660000}`
	case "retryLimitReached", "disabled":
		details = `{"lastFailedAt": 1767225600000, "lastFailedStatusCode": 410, "lastFailedReason": "410 Gone"}`
	}
	return `[{"webhookId": "0190a000-0000-7000-8000-000000000001", "webhookName": "orders", "status": "` + status +
		`", "failureDetails": ` + details + `}]`
}

// envelopeSchema is one event as the generic envelope carries it, inside
// a batch.
const envelopeSchema = `{
  "type": "object",
  "required": ["id", "version", "event", "timestamp", "webhookName", "data"],
  "properties": {
    "id": {"type": "string"},
    "version": {"type": "string", "const": "1"},
    "event": {"type": "string", "description": "The event's type."},
    "tenantId": {"type": "string", "description": "Left out for the default tenant."},
    "timestamp": {"type": "string", "format": "date-time"},
    "isTest": {"type": "boolean"},
    "webhookName": {"type": "string"},
    "data": {"description": "The event's data."}
  }
}`

var builtins = []models.EventType{
	{Name: TypeWebhookFailing, Description: "A webhook's first failed attempt after a success.",
		Schema: json.RawMessage(healthSchema), Examples: json.RawMessage(healthExample("awaitingRetry"))},
	{Name: TypeWebhookRetryLimitReached, Description: "A delivery of a webhook ran out of retries and is in the dead-letter queue.",
		Schema: json.RawMessage(healthSchema), Examples: json.RawMessage(healthExample("retryLimitReached"))},
	{Name: TypeWebhookDisabled, Description: "A webhook's receiver answered 410 Gone: webhookd disabled the webhook.",
		Schema: json.RawMessage(healthSchema), Examples: json.RawMessage(healthExample("disabled"))},
	{Name: TypeWebhookRecovered, Description: "A webhook's first success after a failure.",
		Schema: json.RawMessage(healthSchema), Examples: json.RawMessage(healthExample("active"))},
	{Name: TypeTest, Description: "What the test button sends to a webhook whose filters name no concrete event type.",
		Schema: json.RawMessage(`{
  "type": "object",
  "required": ["message", "webhookId", "webhookName"],
  "properties": {
    "message": {"type": "string"},
    "webhookId": {"type": "string", "format": "uuid"},
    "webhookName": {"type": "string"}
  }
}`),
		Examples: json.RawMessage(`[{"message": "This is a test event from webhookd.", "webhookId": "0190a000-0000-7000-8000-000000000001", "webhookName": "orders"}]`)},
	{Name: TypeBatch, Description: "Several events in one request, for a webhook with batching enabled: each is the envelope a one-event request would carry.",
		Schema: json.RawMessage(`{
  "type": "object",
  "required": ["count", "events"],
  "properties": {
    "count": {"type": "integer", "minimum": 1},
    "events": {"type": "array", "items": {"$ref": "#/$defs/envelope"}}
  },
  "$defs": {"envelope": ` + envelopeSchema + `}
}`),
		Examples: json.RawMessage(`[{"count": 1, "events": [{"id": "evt_1", "version": "1", "event": "order.created", "timestamp": "2026-01-01T00:00:00.000Z", "webhookName": "orders", "data": {"orderId": 1}}]}]`)},
}

func init() {
	for i := range builtins {
		t := &builtins[i]
		// A built-in type's id is its name: it is never stored, so it has
		// no row id, and its name is unique everywhere.
		t.ID, t.TenantID, t.Version, t.BuiltIn = t.Name, models.GlobalTenant, 1, true
		t.UpdatedBy, t.CreatedAt, t.UpdatedAt = "webhookd", builtinEpoch, builtinEpoch
	}
	slices.SortFunc(builtins, func(a, b models.EventType) int { return strings.Compare(a.Name, b.Name) })
}

// Builtins returns webhookd's own event types, by name. They are read-only
// and every tenant sees them; the caller may keep the slice.
func Builtins() []models.EventType { return slices.Clone(builtins) }

// Builtin returns the built-in type called name.
func Builtin(name string) (models.EventType, bool) {
	i, ok := slices.BinarySearchFunc(builtins, name, func(t models.EventType, n string) int { return strings.Compare(t.Name, n) })
	if !ok {
		return models.EventType{}, false
	}
	return builtins[i], true
}

// WithBuiltins merges the built-in types into one page of stored types
// listed by name: page holds up to limit stored types with names after
// `after`, and total counts every stored type the list shows. The answer
// is the first limit of both, by name, and the total with the built-ins.
// Names never collide: stored names cannot start with ReservedPrefix.
func WithBuiltins(page []models.EventType, total int64, after string, limit int) ([]models.EventType, int64) {
	out := slices.Clone(page)
	for _, b := range builtins {
		if b.Name > after {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b models.EventType) int { return strings.Compare(a.Name, b.Name) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, total + int64(len(builtins))
}
