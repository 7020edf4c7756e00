package workflows

import (
	"encoding/json"
	"fmt"
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
	// Throttled counts the throttling answers that earlier runs of this
	// delivery waited out without a schedule step: attempt.MaxThrottled
	// bounds them over every run, not per run (a replay starts again: 0).
	Throttled int `json:",omitempty"`
	// Attempts counts the attempts made by the runs this one continues
	// (continue-as-new during a long wait for a limit), so that the result
	// counts the delivery's attempts, not the last run's.
	Attempts int `json:",omitempty"`
	// LimitWaits is how many times in a row FirstAttempt has already waited
	// for a limit (continue-as-new in the middle of a wait): the polls'
	// backoff goes on where it was.
	LimitWaits int `json:",omitempty"`
	// RetryDelays overrides RetrySchedule: the webhook's own schedule
	// (webhookConfig.retrySchedule), fixed when the run starts.
	RetryDelays Waits `json:",omitempty"`
}

// Waits are retry delays. They read both nanoseconds and Go's duration
// text ("1m0s"), but are written as nanoseconds: a worker of the previous
// release decodes them as []time.Duration, and a run whose input does not
// decode fails at once (not a task that waits for a new worker), so during a
// rolling upgrade a delivery started by a new process would fail on an old
// worker. Write the text form (nicer in the Web UI) only once no worker
// older than this release can be running.
type Waits []time.Duration

// UnmarshalJSON reads waits written as durations or as nanoseconds.
func (w *Waits) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Waits, len(raw))
	for i, r := range raw {
		var text string
		if err := json.Unmarshal(r, &text); err == nil {
			d, err := time.ParseDuration(text)
			if err != nil {
				return fmt.Errorf("wait %d: %w", i, err)
			}
			out[i] = d
			continue
		}
		var ns int64
		if err := json.Unmarshal(r, &ns); err != nil {
			return fmt.Errorf("wait %d: neither a duration nor nanoseconds: %s", i, r)
		}
		out[i] = time.Duration(ns)
	}
	*w = out
	return nil
}

// SendInput asks the send activity for one attempt.
type SendInput struct {
	DeliveryID string
	Attempt    int
	Trigger    models.Trigger
	// Run is the workflow's first run id (the same across continue-as-new):
	// with the delivery and the attempt it names the request's slot, so
	// that a run started again, which may reuse an attempt number, never
	// shares a slot with a request of an earlier run. Empty in histories
	// recorded before it.
	Run string `json:",omitempty"`
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
