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
	// WebhookAutoPaused: the circuit breaker paused the webhook after a
	// run of failures; probes decide when it resumes.
	WebhookAutoPaused WebhookStatus = "autoPaused"
)

// WebhookStatuses lists every WebhookStatus.
var WebhookStatuses = []WebhookStatus{WebhookActive, WebhookAwaitingRetry, WebhookRetryLimitReached, WebhookAutoPaused, WebhookDisabled, WebhookFailed}

// EventFilter selects events for a webhook. It is stored as JSON inside the
// webhook row.
type EventFilter struct {
	EventType string   `json:"eventType"`
	Entities  []string `json:"entities,omitempty"`
	Include   []string `json:"include,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	// Filter is a content filter: a CEL expression over the envelope
	// (data.amount > 100) that an event must also satisfy. Always
	// written, "" when there is none: the database tells a write of an
	// older release, which does not know the field, by its absence
	// (migration 00017).
	Filter string `json:"filter"`
}

// EntityReference is OpenMetadata's {type, name, ...} reference, kept as given.
type EntityReference map[string]any

// DefaultTenant owns everything created without naming a tenant, and every
// row from before tenancy.
const DefaultTenant = "default"

// Webhook is one configured endpoint.
type Webhook struct {
	ID string `gorm:"primaryKey"`
	// TenantID is set at creation and never changes.
	TenantID    string
	Name        string
	DisplayName string
	Description string
	WebhookType WebhookType
	Enabled     bool
	Status      WebhookStatus
	BatchSize   int
	// BatchEnabled opts in to batched delivery: up to BatchSize events per
	// request, each batch sent at most BatchMaxWaitMs after its first event.
	BatchEnabled   bool
	BatchMaxWaitMs int

	EventFilters []EventFilter `gorm:"serializer:json"`

	// Endpoint is the real URL in memory. When it carries credentials
	// (query values, user info) the store keeps it encrypted in
	// EndpointSealed and writes the endpoint column masked; EndpointSealed
	// is the store's alone and empty in memory.
	Endpoint       string
	EndpointSealed string
	// SecretKey and the values of credential headers are plain here, in
	// memory; the store encrypts them in the database.
	SecretKey string
	// PreviousSecrets are the secrets rotations replaced, newest first;
	// each still signs requests, beside SecretKey, until its own expiry
	// (its rotation's grace period).
	PreviousSecrets []PreviousSecret `gorm:"serializer:json"`
	// Auth, when set, has webhookd authenticate to the receiver (OAuth2
	// client credentials); its ClientSecret is plain here, in memory, and
	// encrypted by the store.
	Auth *ReceiverAuth `gorm:"serializer:json"`
	// ClientCertificate (PEM, the chain) and ClientKey (PEM) are the TLS
	// client certificate presented to this webhook's receiver (mTLS). The
	// key is plain here and encrypted by the store.
	ClientCertificate string
	ClientKey         string
	// PreviousSecretExpiresAt is the latest expiry among PreviousSecrets.
	PreviousSecretExpiresAt *time.Time
	// PayloadFormat is the body's shape: "webhookd" (the envelope) or
	// "openmetadata".
	PayloadFormat string
	// RetrySchedule holds the waits before each retry in milliseconds; nil
	// means the default schedule.
	RetrySchedule   []int64           `gorm:"serializer:json"`
	Headers         map[string]string `gorm:"serializer:json"`
	TimeoutSeconds  int
	SendToAdmins    bool
	SendToOwners    bool
	SendToFollowers bool
	// PayloadTemplate is the Go text/template a Custom webhook renders.
	PayloadTemplate string
	// MaxConcurrency caps this endpoint's requests in flight, across every
	// process; RateLimit caps its requests per second (0: no cap). A batch
	// is one request.
	MaxConcurrency int
	RateLimit      float64

	LastFailedAt         *time.Time
	LastFailedStatusCode *int
	LastFailedReason     string
	NextAttempt          *time.Time

	Owner  EntityReference  `gorm:"serializer:json"`
	Tags   []map[string]any `gorm:"serializer:json"`
	Domain EntityReference  `gorm:"serializer:json"`

	// Paused keeps events as held deliveries and sends nothing until the
	// webhook resumes.
	Paused   bool
	PausedAt *time.Time

	// OrderingKey opts in to ordered delivery (webhookConfig.ordering): a
	// path into the envelope (data.orderId), "webhook" for one sequence,
	// or "" for none. OrderingOnExhausted is "block" or "skip".
	OrderingKey         string
	OrderingOnExhausted string

	// The circuit breaker: BreakerFailures consecutive failed attempts
	// spanning at least BreakerSpanMs pause the webhook (0 takes the
	// default); BreakerOff turns it off.
	BreakerOff      bool
	BreakerFailures int
	BreakerSpanMs   int64
	// Breaker state, written by the store alone: the current run of failed
	// attempts, why the breaker opened ("" while closed), the held delivery
	// it probes with, when the next probe is due and the wait after it.
	FailureStreak      int
	FailureStreakSince *time.Time
	AutoPausedReason   string
	ProbeDeliveryID    *string
	NextProbeAt        *time.Time
	ProbeWaitMs        int64
	// FailingRaisedAt and FailingOpen hold back the failing/recovered
	// operational events of a flapping receiver.
	FailingRaisedAt *time.Time
	FailingOpen     bool

	Version   float64
	UpdatedBy string
	Deleted   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PreviousSecret is a signing secret a rotation replaced. Key is plain
// here, in memory; the store encrypts it in the database.
type PreviousSecret struct {
	Key       string    `json:"key"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// AuthOAuth2 is ReceiverAuth's one type: OAuth2 client credentials.
const AuthOAuth2 = "oauth2"

// ReceiverAuth is how webhookd obtains the bearer token it sends: OAuth2
// client credentials (RFC 6749 §4.4) at TokenURL.
type ReceiverAuth struct {
	Type         string   `json:"type"`
	TokenURL     string   `json:"tokenUrl"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	Scopes       []string `json:"scopes,omitempty"`
	// Audience is sent as the audience parameter (Auth0, Okta and others
	// need it to pick the API the token is for).
	Audience string `json:"audience,omitempty"`
}
