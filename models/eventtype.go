package models

import (
	"encoding/json"
	"time"
)

// GlobalTenant is the tenant_id of a global event type: one the admin
// defines and every tenant sees. No tenant can have this id (a tenant id
// starts with a letter or digit).
const GlobalTenant = "*"

// EventType is one entry of the event catalog: what producers post as an
// event's `type`, documented with a JSON Schema and examples of its data.
type EventType struct {
	ID string `gorm:"primaryKey"`
	// TenantID is the owning tenant, or GlobalTenant; set at creation and
	// never changed.
	TenantID    string
	Name        string
	Description string
	// Schema is a JSON Schema (2020-12) of the events' data; nil when the
	// type has none.
	Schema json.RawMessage `gorm:"serializer:json"`
	// Examples is a JSON array of example data, each valid against Schema.
	Examples   json.RawMessage `gorm:"serializer:json"`
	Deprecated bool
	// Validate makes ingest refuse an event of this type whose data does
	// not match Schema.
	Validate bool
	// Version starts at 1 and moves on every change: updates compare it
	// (optimistic locking) and compiled schemas are cached by (ID, Version).
	Version   int64
	UpdatedBy string
	Deleted   bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// BuiltIn marks webhookd's own types (webhookd.*): defined in code,
	// never stored, read-only.
	BuiltIn bool `gorm:"-"`
}
