// Package payload renders the request body each webhook type sends: the
// generic envelope, OpenMetadata's documented body, the Slack, Microsoft
// Teams and Google Chat message formats, and user-given Custom templates.
// It does no I/O.
package payload

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/webhookd/webhookd/models"
)

// Message is everything a body may show about one event sent to one webhook.
// Custom templates see its fields (.ID, .TenantID, ...), so it must never
// hold a secret.
type Message struct {
	ID        string // event id (also X-Webhook-ID)
	EventType string
	// TenantID is the event's tenant. The envelope carries it as "tenantId"
	// unless it is empty or "default", so the default tenant's receivers
	// get the bodies they always got.
	TenantID    string
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

// Options are the webhook's settings that shape its body.
type Options struct {
	// Format is webhookConfig.payloadFormat; "" means FormatWebhookd.
	Format Format
	// Template is webhookConfig.payloadTemplate; only Custom uses it, and
	// an empty one means the generic envelope.
	Template string
	// Secret keys the openmetadata body's signature field; pass the newest
	// secret (during a rotation the old one signs only the headers). Empty
	// leaves the field out. Other formats ignore it.
	Secret string
}

// Render returns the body a webhook of type t with options o sends for m.
// A Format that does not apply to t (see FormatApplies) is an error, not
// silently ignored: the API refuses such webhooks, so one here is a bug.
// A Custom template renders within its render budget (MaxRenderSteps and
// the others), which also ends when ctx does; an overrun wraps
// ErrRenderBudget.
func Render(ctx context.Context, t models.WebhookType, o Options, m Message) ([]byte, error) {
	body, err := render(ctx, t, o, m)
	if err != nil {
		return nil, fmt.Errorf("render %s body for event %q: %w", t, m.ID, err)
	}
	return body, nil
}

func render(ctx context.Context, t models.WebhookType, o Options, m Message) ([]byte, error) {
	if !FormatApplies(t, o.Format) {
		return nil, fmt.Errorf("payload format %q does not apply to %s webhooks", o.Format, t)
	}
	// Checked up front so every type fails the same way on bad input,
	// rather than the chat formats silently showing less.
	if err := checkRaw(m); err != nil {
		return nil, err
	}
	switch t {
	case models.WebhookGeneric:
		if o.Format == FormatOpenMetadata {
			return openMetadata(m, o.Secret)
		}
		return envelope(m)
	case models.WebhookSlack:
		return slack(factsOf(m))
	case models.WebhookMSTeams:
		return msTeams(factsOf(m))
	case models.WebhookGoogleChat:
		return googleChat(factsOf(m))
	case models.WebhookCustom:
		if strings.TrimSpace(o.Template) == "" {
			return envelope(m)
		}
		return custom(ctx, o.Template, m)
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
