package payload

import (
	"encoding/json"
	"fmt"
)

// timestampLayout is ISO 8601 in UTC with exactly three fraction digits,
// e.g. 2024-01-15T10:30:00.000Z, as the envelope has always been documented.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// envelopeBody fixes the key order of the generic body; receivers see
// these keys in this order, so do not reorder the fields.
type envelopeBody struct {
	ID          string          `json:"id"`
	Version     string          `json:"version"`
	Event       string          `json:"event"`
	TenantID    string          `json:"tenantId,omitempty"` // see envelopeTenant
	Timestamp   string          `json:"timestamp"`
	IsTest      bool            `json:"isTest,omitempty"` // present only on test events
	WebhookName string          `json:"webhookName"`
	Data        json.RawMessage `json:"data"`
}

// entityData is the data object built when an event carries no Data of its
// own.
type entityData struct {
	EntityType        string          `json:"entityType,omitempty"`
	Entity            json.RawMessage `json:"entity,omitempty"`
	ChangeDescription json.RawMessage `json:"changeDescription,omitempty"`
}

func formatTime(m Message) string {
	return m.Timestamp.UTC().Format(timestampLayout)
}

func envelope(m Message) ([]byte, error) {
	data, err := envelopeData(m)
	if err != nil {
		return nil, err
	}
	body, err := marshal(envelopeBody{
		ID:          m.ID,
		Version:     "1",
		Event:       m.EventType,
		TenantID:    envelopeTenant(m),
		Timestamp:   formatTime(m),
		IsTest:      m.IsTest,
		WebhookName: m.WebhookName,
		Data:        data,
	})
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return body, nil
}

// defaultTenant is the tenant of every event from before tenants existed.
const defaultTenant = "default"

// envelopeTenant is the envelope's tenantId, "" (left out) for the default
// tenant: its receivers must keep getting byte-identical bodies.
func envelopeTenant(m Message) string {
	if m.TenantID == defaultTenant {
		return ""
	}
	return m.TenantID
}

func envelopeData(m Message) (json.RawMessage, error) {
	if data := present(m.Data); data != nil {
		return data, nil
	}
	data, err := marshal(entityData{
		EntityType:        m.EntityType,
		Entity:            present(m.Entity),
		ChangeDescription: present(m.ChangeDescription),
	})
	if err != nil {
		return nil, fmt.Errorf("encode envelope data: %w", err)
	}
	return data, nil
}
