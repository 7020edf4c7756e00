// Package attempt is the vocabulary of one delivery attempt, shared by what
// sends it (internal/deliver), what decides what comes next (workflows) and
// what writes it down (activities, dispatch): its outcome, what was sent and
// answered, and how long a receiver may push the next attempt back. It is
// pure (no net/http, no Temporal), so workflow code can use it.
//
// Result and Record travel in workflow histories (the send activity's
// answer, the record activity's input): their JSON (field names, omitempty)
// must never change, or recorded histories stop replaying.
package attempt

import (
	"time"

	"github.com/webhookd/webhookd/models"
)

// Outcome classifies one attempt.
type Outcome string

const (
	Success Outcome = "success" // 2xx
	Failure Outcome = "failure" // retryable: non-2xx, timeout, connection error
	Gone    Outcome = "gone"    // 410: stop and disable the webhook
	// Rejected is final without retry: the request could not be built or
	// the endpoint address is refused.
	Rejected  Outcome = "rejected"
	Cancelled Outcome = "cancelled" // webhook disabled or deleted: nothing sent
	// Held: the webhook is paused; nothing was sent, and the delivery waits
	// in the database until the webhook resumes.
	Held Outcome = "held"
	// Limited: the webhook's limits (maxConcurrency, rateLimit) leave no
	// slot now; nothing was sent, and the delivery waits (Result.Wait) and
	// asks again. It is not an attempt.
	Limited Outcome = "limited"
)

// Record is what one POST did, as logged in the attempts table. Request
// headers are masked before they get here.
type Record struct {
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

// Result is what an attempt came to: the send activity's answer.
type Result struct {
	Outcome Outcome
	// RetryAfter is the receiver's Retry-After on a 429 or 503.
	RetryAfter time.Duration `json:",omitempty"`
	// Attempt is nil when nothing was sent (Cancelled, Held, Limited).
	Attempt *Record `json:",omitempty"`
	// WaitingFor says which limit a Limited result waits for; Wait is how
	// long (zero: the workflow's own poll, for a wait the limiter did not
	// time).
	WaitingFor models.WaitingFor `json:",omitempty"`
	Wait       time.Duration     `json:",omitempty"`
}
