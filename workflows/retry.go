package workflows

import "time"

// RetrySchedule is the default wait before each retry: attempt 1 at once,
// then after 1m, 5m, 15m, 1h, 4h and 12h; seven attempts in all. A webhook's
// own webhookConfig.retrySchedule replaces it (DeliveryInput.RetryDelays); a
// receiver's Retry-After lengthens a wait (attempt.RetryWait); the delivery
// workflow's decide applies it.
var RetrySchedule = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour, 12 * time.Hour,
}
