package workflows

import (
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
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

// SendInput asks the send activity for one attempt.
type SendInput struct {
	DeliveryID string
	Attempt    int
	Trigger    models.Trigger
}

// RecordInput writes an attempt and the state it leads to, in one
// transaction. The workflow decides every value; the activity only stores.
type RecordInput struct {
	DeliveryID     string
	WebhookID      string
	RunID          string
	Attempt        *attempt.Record `json:",omitempty"`
	DeliveryStatus models.DeliveryStatus
	NextAttemptAt  *time.Time `json:",omitempty"`
	// WaitingFor is retryAfter while the delivery waits out a throttling
	// answer (it is no schedule step); empty otherwise.
	WaitingFor models.WaitingFor `json:",omitempty"`
	// WebhookStatus is the webhook's new status; empty leaves it alone (test
	// deliveries never change it).
	WebhookStatus models.WebhookStatus `json:",omitempty"`
}

// Progress is what the progress query returns.
type Progress struct {
	Status        models.DeliveryStatus
	Attempts      int
	LastOutcome   attempt.Outcome `json:",omitempty"`
	NextAttemptAt *time.Time      `json:",omitempty"`
	// WaitingFor is what the delivery waits for, if anything.
	WaitingFor models.WaitingFor `json:",omitempty"`
}

// DeliveryResult is the workflow's result.
type DeliveryResult struct {
	Status   models.DeliveryStatus
	Attempts int
}
