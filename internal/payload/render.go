// Package payload renders the request body each webhook type sends: the
// generic envelope, the Slack, Microsoft Teams and Google Chat message
// formats, and user-given Custom templates. It does no I/O.
package payload

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/webhookd/webhookd/models"
)

// Message is everything a body may show about one event sent to one webhook.
type Message struct {
	ID          string // event id (also X-Webhook-ID)
	EventType   string
	Timestamp   time.Time // event time
	IsTest      bool
	WebhookName string
	EntityType  string
	Entity      json.RawMessage // may be nil
	// ChangeDescription is OpenMetadata's
	// {fieldsAdded,fieldsUpdated,fieldsDeleted:[{name,oldValue,newValue}]}; may be nil.
	ChangeDescription json.RawMessage
	Data              json.RawMessage // may be nil
}

// Render returns the body a webhook of type t sends for m. tmpl is the
// webhook's payload template; only Custom uses it, and an empty one means
// the generic envelope.
func Render(t models.WebhookType, tmpl string, m Message) ([]byte, error) {
	body, err := render(t, tmpl, m)
	if err != nil {
		return nil, fmt.Errorf("render %s body for event %q: %w", t, m.ID, err)
	}
	return body, nil
}

func render(t models.WebhookType, tmpl string, m Message) ([]byte, error) {
	// Checked up front so every type fails the same way on bad input,
	// rather than the chat formats silently showing less.
	if err := checkRaw(m); err != nil {
		return nil, err
	}
	switch t {
	case models.WebhookGeneric:
		return envelope(m)
	case models.WebhookSlack:
		return slack(factsOf(m))
	case models.WebhookMSTeams:
		return msTeams(factsOf(m))
	case models.WebhookGoogleChat:
		return googleChat(factsOf(m))
	case models.WebhookCustom:
		if strings.TrimSpace(tmpl) == "" {
			return envelope(m)
		}
		return custom(tmpl, m)
	default:
		return nil, fmt.Errorf("unknown webhook type %q", t)
	}
}

// checkRaw rejects raw JSON fields that are set but not valid JSON.
func checkRaw(m Message) error {
	fields := []struct {
		name string
		raw  json.RawMessage
	}{{"entity", m.Entity}, {"changeDescription", m.ChangeDescription}, {"data", m.Data}}
	for _, f := range fields {
		if present(f.raw) != nil && !json.Valid(f.raw) {
			return fmt.Errorf("%s is not valid JSON", f.name)
		}
	}
	return nil
}
