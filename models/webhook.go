// Package models holds the GORM row types and status enums. It has no logic
// and no JSON API shapes: the api package owns those.
package models

import "time"

// WebhookType selects the body format sent to the endpoint.
type WebhookType string

const (
	WebhookGeneric    WebhookType = "Generic"
	WebhookSlack      WebhookType = "Slack"
	WebhookMSTeams    WebhookType = "MSTeams"
	WebhookGoogleChat WebhookType = "GoogleChat"
	WebhookCustom     WebhookType = "Custom"
)

// WebhookTypes lists every accepted WebhookType, in documentation order.
var WebhookTypes = []WebhookType{WebhookGeneric, WebhookSlack, WebhookMSTeams, WebhookGoogleChat, WebhookCustom}

// WebhookStatus is the read-only health of a webhook (OpenMetadata's names).
type WebhookStatus string

const (
	WebhookActive            WebhookStatus = "active"
	WebhookDisabled          WebhookStatus = "disabled"
	WebhookFailed            WebhookStatus = "failed"
	WebhookAwaitingRetry     WebhookStatus = "awaitingRetry"
	WebhookRetryLimitReached WebhookStatus = "retryLimitReached"
)

// EventFilter selects events for a webhook. It is stored as JSON inside the
// webhook row.
type EventFilter struct {
	EventType string   `json:"eventType"`
	Entities  []string `json:"entities,omitempty"`
	Include   []string `json:"include,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
}

// EntityReference is OpenMetadata's {type, name, ...} reference, kept as given.
type EntityReference map[string]any

// Webhook is one configured endpoint.
type Webhook struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	DisplayName string
	Description string
	WebhookType WebhookType
	Enabled     bool
	Status      WebhookStatus
	BatchSize   int

	EventFilters []EventFilter `gorm:"serializer:json"`

	Endpoint        string
	SecretKey       string
	Headers         map[string]string `gorm:"serializer:json"`
	TimeoutSeconds  int
	SendToAdmins    bool
	SendToOwners    bool
	SendToFollowers bool
	// PayloadTemplate is the Go text/template a Custom webhook renders.
	PayloadTemplate string

	LastFailedAt         *time.Time
	LastFailedStatusCode *int
	LastFailedReason     string
	NextAttempt          *time.Time

	Owner  EntityReference  `gorm:"serializer:json"`
	Tags   []map[string]any `gorm:"serializer:json"`
	Domain EntityReference  `gorm:"serializer:json"`

	Version   float64
	UpdatedBy string
	Deleted   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}
