package webhooks

import (
	"time"

	"github.com/webhookd/webhookd/models"
)

// CircuitBreaker overrides a webhook's circuit breaker (README "Circuit
// breaker"): Enabled false turns it off; Failures consecutive failed
// attempts spanning at least Span pause the webhook. Absent fields take the
// defaults (store.DefaultBreakerFailures over store.DefaultBreakerSpan).
type CircuitBreaker struct {
	Enabled  *bool
	Failures *int
	Span     string
}

// Breaker bounds: a breaker needs a run, not one failure, and must open
// within the week a retry schedule may last.
const (
	minBreakerFailures = 2
	maxBreakerFailures = 10000
	minBreakerSpan     = time.Second
	maxBreakerSpan     = 7 * 24 * time.Hour
)

type breakerSettings struct {
	off      bool
	failures int
	spanMs   int64
}

// checkBreaker validates webhookConfig.circuitBreaker.
func checkBreaker(b *CircuitBreaker) (breakerSettings, error) {
	const field = "webhookConfig.circuitBreaker"
	var out breakerSettings
	if b == nil {
		return out, nil
	}
	out.off = b.Enabled != nil && !*b.Enabled
	if b.Failures != nil {
		if *b.Failures < minBreakerFailures || *b.Failures > maxBreakerFailures {
			return out, invalid(field+".failures", "must be from %d to %d", minBreakerFailures, maxBreakerFailures)
		}
		out.failures = *b.Failures
	}
	if b.Span != "" {
		d, err := ParseDuration(b.Span)
		if err != nil || d < minBreakerSpan || d > maxBreakerSpan || d%time.Second != 0 {
			return out, invalid(field+".span", "a time of whole seconds from 1s to 7d, such as 10m or 1h")
		}
		out.spanMs = d.Milliseconds()
	}
	return out, nil
}

func (b breakerSettings) applyTo(w *models.Webhook) {
	w.BreakerOff, w.BreakerFailures, w.BreakerSpanMs = b.off, b.failures, b.spanMs
}
