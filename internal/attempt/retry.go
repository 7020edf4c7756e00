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

// Throttling answers (429, 502, 503, 504) say the receiver is overloaded,
// not that the request is wrong: they lower the webhook's rate, and the
// delivery tries again after max(Retry-After, ThrottleBackoff) without
// using a step of the retry schedule, up to MaxThrottled times per run.
// Later ones, and any whose Retry-After exceeds MaxThrottleWait, take a
// schedule step as any failure does. A receiver that throttles forever
// thus reaches the dead-letter queue at most MaxThrottled×MaxThrottleWait
// (100 minutes) after the schedule alone would take it there.
const (
	MaxThrottled    = 10
	MaxThrottleWait = 10 * time.Minute
	maxBackoff      = 5 * time.Minute
)

// IsThrottling tells a throttling answer's status code.
func IsThrottling(status int) bool {
	return status == 429 || status == 502 || status == 503 || status == 504
}

// ThrottleBackoff is the least wait after the n-th throttling answer of a
// run (0-based): 1 s doubling, at most 5 minutes (1+2+…+256 s+5 min ≈ 13.5
// minutes for all ten).
func ThrottleBackoff(n int) time.Duration {
	if n >= 9 {
		return maxBackoff
	}
	return min(time.Second<<n, maxBackoff)
}
