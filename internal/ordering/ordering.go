// Package ordering is the vocabulary of ordered delivery (README "Ordered
// delivery"): which sequence an event's delivery to an ordered webhook
// belongs to. It is pure: ingest calls it when it stores deliveries, the
// webhooks service when it validates webhookConfig.ordering.
package ordering

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// WholeWebhook is the key that puts every delivery of a webhook in one
// sequence.
const WholeWebhook = "webhook"

// What an exhausted delivery does to its sequence.
const (
	// Block stops the sequence until the delivery is replayed (and
	// succeeds) or skipped (POST /deliveries/{id}/skip).
	Block = "block"
	// Skip lets the sequence move on; the delivery is in the dead-letter
	// queue.
	Skip = "skip"
)

// MaxKeyPath bounds a key path; MaxKey bounds a key's value (longer values
// are kept cut, which at worst joins sequences that differ beyond it).
const (
	MaxKeyPath = 256
	MaxKey     = 512
)

// CheckPath validates a key path: WholeWebhook, "event" (the event type),
// or "data." followed by field names (data.order.id).
func CheckPath(path string) error {
	switch {
	case path == WholeWebhook || path == "event":
		return nil
	case len(path) > MaxKeyPath:
		return errors.New("at most 256 characters")
	case !strings.HasPrefix(path, "data."):
		return errors.New(`"webhook", "event" or a path into the event's data such as data.orderId`)
	}
	for _, f := range strings.Split(strings.TrimPrefix(path, "data."), ".") {
		if f == "" {
			return errors.New("a path of field names separated by dots, such as data.order.id")
		}
	}
	return nil
}

// Key returns the sequence of an event (its type and data) for a webhook
// ordered by path. Events without the field, or with null there, share one
// sequence of their own: the empty key.
func Key(path, eventType string, data json.RawMessage) string {
	switch path {
	case WholeWebhook:
		return ""
	case "event":
		return cut(eventType)
	}
	v := data
	for _, f := range strings.Split(strings.TrimPrefix(path, "data."), ".") {
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil {
			return ""
		}
		if v = obj[f]; v == nil {
			return ""
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return cut(s)
	}
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return ""
	}
	var compact bytes.Buffer
	if json.Compact(&compact, v) != nil {
		return ""
	}
	return cut(compact.String())
}

func cut(s string) string {
	if len(s) > MaxKey {
		return s[:MaxKey]
	}
	return s
}
