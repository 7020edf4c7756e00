package attempt

import "time"

// MaxRetryWait caps how far a receiver's Retry-After can push a retry.
const MaxRetryWait = 12 * time.Hour

// RetryWait is the wait before the next attempt: the schedule's, lengthened
// (never shortened) by a receiver's Retry-After, capped at MaxRetryWait
// unless the schedule itself waits longer.
func RetryWait(scheduled, retryAfter time.Duration) time.Duration {
	wait := max(scheduled, retryAfter)
	return min(wait, max(scheduled, MaxRetryWait))
}
