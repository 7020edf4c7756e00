package workflows

import (
	"time"

	"github.com/webhookd/webhookd/models"
)

// DeliveryInput starts a delivery workflow. It carries ids only: the endpoint
// secret and headers are read by the send activity, never put in history.
type DeliveryInput struct {
	DeliveryID string
	TenantID   string `json:",omitempty"`
	WebhookID  string
	EventID    string
	EventType  string
	Trigger    models.Trigger
	// FirstAttempt numbers this run's first attempt (a replay continues the
	// delivery's numbering).
	FirstAttempt int
	// RetriesUsed is how far into the retry schedule this run starts: a
	// delivery resumed after a pause, or restarted by the reconciler,
	// continues its schedule rather than starting it again (a replay starts
	// it again: 0).
	RetriesUsed int `json:",omitempty"`
	// RetryDelays overrides RetrySchedule: the webhook's own schedule
	// (webhookConfig.retrySchedule), fixed when the run starts.
	RetryDelays []time.Duration `json:",omitempty"`
}

// Outcome classifies one attempt.
type Outcome string

const (
	OutcomeSuccess Outcome = "success" // 2xx
	OutcomeFailure Outcome = "failure" // retryable: non-2xx, timeout, connection error
	OutcomeGone    Outcome = "gone"    // 410: stop and disable the webhook
	// OutcomeRejected is final without retry: the request could not be
	// built or the endpoint address is refused.
	OutcomeRejected  Outcome = "rejected"
	OutcomeCancelled Outcome = "cancelled" // webhook disabled or deleted: nothing sent
	// OutcomeHeld: the webhook is paused; nothing was sent, and the delivery
	// waits in the database until the webhook resumes.
	OutcomeHeld Outcome = "held"
)

// SendInput asks the send activity for one attempt.
type SendInput struct {
	DeliveryID string
	Attempt    int
	Trigger    models.Trigger
}

// AttemptRecord is what one POST did, as logged in the attempts table.
// Request headers are masked by the activity before they get here.
type AttemptRecord struct {
	Number          int
	Trigger         models.Trigger
	RequestURL      string
	RequestHeaders  map[string]string
	StatusCode      int `json:",omitempty"`
	ResponseHeaders map[string]string
	ResponseBody    string
	DurationMs      int64
	Error           string `json:",omitempty"`
	StartedAt       time.Time
	FinishedAt      time.Time
}

// SendResult is the send activity's answer.
type SendResult struct {
	Outcome Outcome
	// RetryAfter is the receiver's Retry-After on a 429 or 503.
	RetryAfter time.Duration `json:",omitempty"`
	// Attempt is nil when nothing was sent (OutcomeCancelled).
	Attempt *AttemptRecord `json:",omitempty"`
}

// RecordInput writes an attempt and the state it leads to, in one
// transaction. The workflow decides every value; the activity only stores.
type RecordInput struct {
	DeliveryID     string
	WebhookID      string
	RunID          string
	Attempt        *AttemptRecord `json:",omitempty"`
	DeliveryStatus models.DeliveryStatus
	NextAttemptAt  *time.Time `json:",omitempty"`
	// WebhookStatus is the webhook's new status; empty leaves it alone (test
	// deliveries never change it).
	WebhookStatus models.WebhookStatus `json:",omitempty"`
}

// Progress is what the progress query returns.
type Progress struct {
	Status        models.DeliveryStatus
	Attempts      int
	LastOutcome   Outcome    `json:",omitempty"`
	NextAttemptAt *time.Time `json:",omitempty"`
}

// DeliveryResult is the workflow's result.
type DeliveryResult struct {
	Status   models.DeliveryStatus
	Attempts int
}
