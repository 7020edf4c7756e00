package models

import (
	"encoding/json"
	"time"
)

// Event is what a producer posted, stored before any delivery starts.
type Event struct {
	ID                string `gorm:"primaryKey"`
	Type              string
	EntityType        string
	Entity            json.RawMessage `gorm:"serializer:json"`
	ChangeDescription json.RawMessage `gorm:"serializer:json"`
	Data              json.RawMessage `gorm:"serializer:json"`
	// IsTest marks the synthetic events of the test button.
	IsTest    bool
	Timestamp time.Time
	CreatedAt time.Time
}

// DeliveryStatus is where one (event, webhook) pair stands.
type DeliveryStatus string

const (
	DeliveryPending       DeliveryStatus = "pending"
	DeliveryDelivering    DeliveryStatus = "delivering"
	DeliveryAwaitingRetry DeliveryStatus = "awaitingRetry"
	DeliverySucceeded     DeliveryStatus = "succeeded"
	// DeliveryFailed means retries are exhausted or the failure was final:
	// the delivery is in the dead-letter queue.
	DeliveryFailed    DeliveryStatus = "failed"
	DeliveryCancelled DeliveryStatus = "cancelled"
)

// Trigger says why an attempt was made.
type Trigger string

const (
	TriggerScheduled Trigger = "scheduled"
	TriggerReplay    Trigger = "replay"
	TriggerTest      Trigger = "test"
)

// Delivery is one (event, webhook) pair, delivered by one workflow.
type Delivery struct {
	ID             string `gorm:"primaryKey"`
	EventID        string
	WebhookID      string
	EventType      string
	Status         DeliveryStatus
	Trigger        Trigger
	AttemptCount   int
	LastStatusCode *int
	LastDurationMs *int64
	LastError      string
	NextAttemptAt  *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Attempt is one POST (or one refusal to post) of a delivery.
type Attempt struct {
	ID              int64 `gorm:"primaryKey;autoIncrement"`
	DeliveryID      string
	RunID           string
	Number          int
	Trigger         Trigger
	RequestURL      string
	RequestHeaders  map[string]string `gorm:"serializer:json"`
	ResponseStatus  *int
	ResponseHeaders map[string]string `gorm:"serializer:json"`
	ResponseBody    string
	DurationMs      int64
	Error           string
	StartedAt       time.Time
	FinishedAt      time.Time
}
