package payload

import (
	"encoding/json"
	"fmt"
	"time"
)

// templateData is what a Custom template sees: the Message fields (.ID,
// .EventType, .TenantID, ...) and the generic envelope as .Envelope, a map,
// so {{.Envelope.data.entity.name}} works without decoding JSON by hand.
// The raw JSON fields (.Entity, ...) are meant for {{json .Entity}}.
// .TenantID is the tenant as stored, "default" included, while
// .Envelope.tenantId is missing for the default tenant, as in the envelope.
//
// A template can call every exported method of every value it reaches, and
// nothing in text/template bounds what a method does; so the values here
// have few methods, each bounded by its input or paid for from the render
// budget (TestTemplateDataMethodsAreBounded lists them). In particular
// .Timestamp is a templateTime, not a time.Time, and Message is not
// embedded (it would be reachable as .Message.Timestamp).
type templateData struct {
	ID                string
	EventType         string
	TenantID          string
	Timestamp         templateTime
	IsTest            bool
	WebhookName       string
	EntityType        string
	Entity            json.RawMessage
	ChangeDescription json.RawMessage
	Data              json.RawMessage
	Envelope          map[string]any
}

func newTemplateData(m Message, env map[string]any, b *budget) templateData {
	return templateData{
		ID: m.ID, EventType: m.EventType, TenantID: m.TenantID, Timestamp: templateTime{t: m.Timestamp, b: b},
		IsTest: m.IsTest, WebhookName: m.WebhookName, EntityType: m.EntityType,
		Entity: m.Entity, ChangeDescription: m.ChangeDescription, Data: m.Data, Envelope: env,
	}
}

// maxLayout bounds the layout {{.Timestamp.Format}} takes.
const maxLayout = 64

// templateTime is the event time as templates see it: it prints and
// encodes as a time.Time does ({{.Timestamp}}, {{json .Timestamp}}), and
// offers the few methods a payload needs.
type templateTime struct {
	t time.Time
	b *budget
}

func (t templateTime) String() string { return t.t.String() }

func (t templateTime) MarshalJSON() ([]byte, error) { return t.t.MarshalJSON() }

// Format is time.Time's, with a layout of at most maxLayout bytes and the
// result paid for.
func (t templateTime) Format(layout string) (string, error) {
	if len(layout) > maxLayout {
		return "", fmt.Errorf("Timestamp.Format: a layout may be at most %d bytes", maxLayout)
	}
	out := t.t.Format(layout)
	if err := t.b.spend(len(out)); err != nil {
		return "", err
	}
	return out, nil
}

func (t templateTime) UTC() templateTime { return templateTime{t: t.t.UTC(), b: t.b} }

func (t templateTime) Unix() int64 { return t.t.Unix() }

func (t templateTime) UnixMilli() int64 { return t.t.UnixMilli() }

func (t templateTime) IsZero() bool { return t.t.IsZero() }
