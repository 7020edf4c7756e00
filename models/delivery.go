package models

import (
	"encoding/json"
	"time"
)

// Event is what a producer posted, stored before any delivery starts.
type Event struct {
	// An event id is unique within its tenant: it is the producer's
	// idempotency key.
	TenantID          string `gorm:"primaryKey"`
	ID                string `gorm:"primaryKey"`
	Type              string
	EntityType        string
	Entity            json.RawMessage `gorm:"serializer:json"`
	ChangeDescription json.RawMessage `gorm:"serializer:json"`
	Data              json.RawMessage `gorm:"serializer:json"`
	// IsTest marks the synthetic events of the test button.
	IsTest bool
	// FanoutPending marks an event stored without its deliveries (an
	// operational event, written with the health change it reports): the
	// starter matches it and stores them.
	FanoutPending bool
	// FanoutPlan is a large fan-out's planned deliveries (JSON, written and
	// read by internal/store), nil when there is none; cleared when the
	// starter inserts them. It alone marks a plan waiting (FanoutPending
	// stays false, so that an earlier release never sees the event as
	// pending).
	FanoutPlan *string `json:"-"`
	// SourceWebhookID is the webhook an operational event is about; it
	// never receives that event.
	SourceWebhookID *string
	Timestamp       time.Time
	CreatedAt       time.Time
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
	// DeliveryHeld waits, with nothing sent, while its webhook is paused;
	// resuming the webhook puts it back in the outbox.
	DeliveryHeld DeliveryStatus = "held"
)

// DeliveryStatuses lists every DeliveryStatus, in lifecycle order.
var DeliveryStatuses = []DeliveryStatus{
	DeliveryPending, DeliveryHeld, DeliveryDelivering, DeliveryAwaitingRetry, DeliverySucceeded, DeliveryFailed, DeliveryCancelled,
}

// WaitingFor is what holds a delivery back without it being an attempt.
type WaitingFor string

const (
	WaitingForRateLimit   WaitingFor = "rateLimit"   // the webhook's rate (set, or lowered after 429/5xx)
	WaitingForConcurrency WaitingFor = "concurrency" // maxConcurrency in flight, or the tenant's share of a worker's slots
	WaitingForRetryAfter  WaitingFor = "retryAfter"  // the receiver throttled it (429/502/503/504)
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
	ID           string `gorm:"primaryKey"`
	TenantID     string
	EventID      string
	WebhookID    string
	EventType    string
	Status       DeliveryStatus
	Trigger      Trigger
	AttemptCount int
	// ThrottleWaits counts the throttling answers waited out without a
	// step of the retry schedule, over every run (a new run continues the
	// bound).
	ThrottleWaits  int
	LastStatusCode *int
	LastDurationMs *int64
	LastError      string
	NextAttemptAt  *time.Time
	// WaitingFor says what a delivery waits for before its next request:
	// "" (nothing), or one of the WaitingFor values.
	WaitingFor WaitingFor
	// DispatchedAt is when the starter handed the delivery to Temporal; nil
	// while it waits in the outbox.
	DispatchedAt *time.Time
	// BatchSize counts the events of a batch delivery (0 for an ordinary
	// one-event delivery); an open batch takes events until BatchClosesAt.
	BatchSize     int
	BatchBytes    int64
	BatchClosesAt *time.Time
	// Starts counts the starter's claims of the delivery.
	Starts int
	// SequenceKey places the delivery of an ordered webhook in its sequence
	// (nil when unordered), ordered by SequenceAt (the event's timestamp),
	// then arrival. SequenceSkipped settles a failed one for the sequence.
	SequenceKey     *string
	SequenceAt      *time.Time
	SequenceSkipped bool

	// TraceParent is the W3C traceparent of the request that ingested the
	// event ("" with tracing off): the delivery's start and attempts join
	// that trace.
	TraceParent string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// BatchEventType is the event type of a batch delivery (the events inside
// keep their own).
const BatchEventType = "webhookd.batch"

// BatchEvent places one event in a batch delivery.
type BatchEvent struct {
	DeliveryID string `gorm:"primaryKey"`
	Position   int    `gorm:"primaryKey"`
	TenantID   string
	EventID    string
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

// WebhookStat counts one webhook's attempts in one five-minute bucket.
type WebhookStat struct {
	WebhookID     string    `gorm:"primaryKey"`
	Bucket        time.Time `gorm:"primaryKey"`
	Attempts      int64
	Successes     int64
	DurationMsSum int64
	// H0..H11 count response times in the buckets of StatBucketBoundsMs.
	H0, H1, H2, H3, H4, H5, H6, H7, H8, H9, H10, H11 int64
	LastSuccessAt                                    *time.Time
	LastFailureAt                                    *time.Time
}

// StatBucketBoundsMs are the upper bounds of WebhookStat's response-time
// buckets H0..H10; H11 holds the rest.
var StatBucketBoundsMs = []int64{10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000}

// FilterStat counts what one filter of a webhook did in one five-minute
// bucket: events of its types it was shown (Seen) and let through
// (Matched). FilterKey names the filter by what it says.
type FilterStat struct {
	WebhookID string    `gorm:"primaryKey"`
	Bucket    time.Time `gorm:"primaryKey"`
	FilterKey string    `gorm:"primaryKey"`
	Seen      int64
	Matched   int64
}
