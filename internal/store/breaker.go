package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// The circuit breaker that keeps events (README "Circuit breaker"): a run of
// failed attempts pauses the webhook (status autoPaused), its events are
// held as a manual pause holds them, and one held delivery at a time probes
// the endpoint at growing intervals; the first success resumes it.
const (
	// DefaultBreakerFailures consecutive failed attempts, the first and the
	// last at least DefaultBreakerSpan apart, open the breaker.
	DefaultBreakerFailures = 20
	DefaultBreakerSpan     = time.Hour
	// The first probe goes out FirstProbeWait after the breaker opens; each
	// failed probe doubles the wait, up to MaxProbeWait.
	FirstProbeWait = time.Minute
	MaxProbeWait   = time.Hour
	// probeTimeout is how long a probe may stay unanswered before another
	// is chosen (its delivery was cancelled, its start lost).
	probeTimeout = 10 * time.Minute
	// FailingCooldown is the least time between two `failing` operational
	// events of one webhook; a `recovered` is raised only for a `failing`
	// (or retryLimitReached) that was raised. A flapping receiver thus
	// raises at most three of each an hour.
	FailingCooldown = 20 * time.Minute
)

// breakerLimits returns the count and span that open w's breaker, and false
// when its breaker is off.
func breakerLimits(w *models.Webhook) (int, time.Duration, bool) {
	n, span := w.BreakerFailures, time.Duration(w.BreakerSpanMs)*time.Millisecond
	if n <= 0 {
		n = DefaultBreakerFailures
	}
	if w.BreakerSpanMs <= 0 {
		span = DefaultBreakerSpan
	}
	return n, span, !w.BreakerOff
}

// countFailure keeps w's run of failed attempts for one attempt's outcome
// (in w and in the fields to write) and reports whether it opens the
// breaker. Time is the attempts' own, so that the span is what the
// receiver saw.
func countFailure(w *models.Webhook, r AttemptResult, fields map[string]any) bool {
	if r.WebhookStatus == models.WebhookActive {
		if w.FailureStreak > 0 || w.FailureStreakSince != nil {
			fields["failure_streak"], fields["failure_streak_since"] = 0, nil
		}
		return false
	}
	a := r.Attempt
	if a == nil || !r.fresh {
		return false // a retried record counts once
	}
	w.FailureStreak++
	if w.FailureStreakSince == nil {
		w.FailureStreakSince = &a.StartedAt
	}
	fields["failure_streak"], fields["failure_streak_since"] = w.FailureStreak, w.FailureStreakSince
	n, span, on := breakerLimits(w)
	return on && r.WebhookStatus != models.WebhookDisabled &&
		w.FailureStreak >= n && a.FinishedAt.Sub(*w.FailureStreakSince) >= span
}

// openBreaker pauses w: new events are held, retries hold at their next
// attempt, and the first probe is due after FirstProbeWait.
func openBreaker(w *models.Webhook, now time.Time, fields map[string]any) {
	w.Status, w.Paused, w.PausedAt, w.NextAttempt = models.WebhookAutoPaused, true, &now, nil
	w.AutoPausedReason = fmt.Sprintf("%d consecutive failed attempts since %s", w.FailureStreak,
		w.FailureStreakSince.UTC().Format(time.RFC3339))
	next := now.Add(FirstProbeWait)
	fields["status"], fields["paused"], fields["paused_at"], fields["next_attempt"] = w.Status, true, now, nil
	fields["auto_paused_reason"], fields["probe_delivery_id"], fields["next_probe_at"] = w.AutoPausedReason, nil, next
	fields["probe_wait_ms"] = (2 * FirstProbeWait).Milliseconds()
}

// closedBreaker is what resuming an auto-paused webhook writes, by a probe's
// success or an operator's resume.
func closedBreaker() map[string]any {
	return map[string]any{
		"paused": false, "paused_at": nil, "status": models.WebhookActive, "next_attempt": nil,
		"auto_paused_reason": "", "probe_delivery_id": nil, "next_probe_at": nil, "probe_wait_ms": 0,
		"failure_streak": 0, "failure_streak_since": nil, "failing_open": false,
	}
}

// whileOpen records an attempt's outcome for a webhook whose breaker is
// open: a success (the probe's, or one already in flight when it opened)
// closes it and releases the held deliveries; a failure changes nothing but
// the failure details, and a failed probe makes room for the next one.
func (s *Store) whileOpen(tx *gorm.DB, w *models.Webhook, r AttemptResult, emit bool) error {
	if r.WebhookStatus == models.WebhookActive {
		if err := tx.Model(&models.Webhook{}).Where("id = ?", w.ID).Updates(closedBreaker()).Error; err != nil {
			return err
		}
		if _, err := releaseHeld(tx, w.ID); err != nil {
			return err
		}
		if !emit {
			return nil
		}
		w.Status, w.NextAttempt = models.WebhookActive, nil
		return tx.Create(operationalEvent(w, EventWebhookRecovered)).Error
	}
	fields := map[string]any{}
	failureDetails(w, r.Attempt, fields)
	if w.ProbeDeliveryID != nil && *w.ProbeDeliveryID == r.DeliveryID {
		nextProbe(w, fields)
	}
	if len(fields) == 0 {
		return nil
	}
	return tx.Model(&models.Webhook{}).Where("id = ?", w.ID).Updates(fields).Error
}

// nextProbe schedules the probe after a failed one, the wait doubled.
func nextProbe(w *models.Webhook, fields map[string]any) {
	wait := time.Duration(w.ProbeWaitMs) * time.Millisecond
	if wait <= 0 {
		wait = FirstProbeWait
	}
	fields["probe_delivery_id"], fields["next_probe_at"] = nil, Now().Add(wait)
	fields["probe_wait_ms"] = min(2*wait, MaxProbeWait).Milliseconds()
}

// probeFailed records a failed probe: the send activity answers a probe's
// failure as held, so the delivery waits with the others and the next probe
// comes after a longer wait.
func probeFailed(tx *gorm.DB, r AttemptResult) error {
	var w models.Webhook
	if err := tx.Where("id = ? AND probe_delivery_id = ?", r.WebhookID, r.DeliveryID).Limit(1).Find(&w).Error; err != nil || w.ID == "" {
		return err
	}
	fields := map[string]any{}
	failureDetails(&w, r.Attempt, fields)
	nextProbe(&w, fields)
	return tx.Model(&models.Webhook{}).Where("id = ?", w.ID).Updates(fields).Error
}

// failureDetails records a failed attempt as the webhook's last failure.
func failureDetails(w *models.Webhook, a *models.Attempt, fields map[string]any) {
	if a == nil {
		return
	}
	fields["last_failed_at"] = a.FinishedAt
	fields["last_failed_status_code"] = a.ResponseStatus
	fields["last_failed_reason"] = failureReason(a)
	w.LastFailedAt, w.LastFailedStatusCode, w.LastFailedReason = &a.FinishedAt, a.ResponseStatus, failureReason(a)
}

// releaseHeld puts a resumed webhook's held deliveries back in the outbox
// (the starter claims them oldest first).
func releaseHeld(tx *gorm.DB, webhookID string) (int64, error) {
	res := tx.Model(&models.Delivery{}).Where("webhook_id = ? AND status = ?", webhookID, models.DeliveryHeld).
		Updates(map[string]any{"status": models.DeliveryPending, "dispatched_at": nil, "updated_at": Now()})
	return res.RowsAffected, res.Error
}

// StartDueProbes chooses the probe of every auto-paused webhook whose next
// probe is due: its oldest held delivery goes back to the outbox alone, and
// the send activity lets it through the pause. A webhook with nothing held
// is probed when an event arrives. It reports how many probes it released.
func (s *Store) StartDueProbes(ctx context.Context, now time.Time) (int, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&models.Webhook{}).
		Where("auto_paused_reason <> '' AND next_probe_at <= ? AND paused AND enabled AND NOT deleted", now).
		Order("next_probe_at").Limit(ReconcileProbes).Pluck("id", &ids).Error
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ok, err := s.startProbe(ctx, id, now)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		n++
		// The probe must not queue behind reserved rate slots: none will
		// be used while the breaker is open (their requests are held), and
		// the drop when it opened may have failed, or a request that
		// loaded the webhook just before may have reserved one since.
		if err := s.DropRateReservations(ctx, id, ""); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReconcileProbes bounds the probes one pass starts.
const ReconcileProbes = 100

func (s *Store) startProbe(ctx context.Context, webhookID string, now time.Time) (bool, error) {
	started := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var probe []string
		if err := oldestHeld(tx, webhookID).Limit(1).Pluck("d.id", &probe).Error; err != nil || len(probe) == 0 {
			return err
		}
		res := tx.Model(&models.Webhook{}).Where("id = ? AND next_probe_at <= ? AND paused", webhookID, now).
			Updates(map[string]any{"probe_delivery_id": probe[0], "next_probe_at": now.Add(probeTimeout)})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // another process took it
		}
		started = true
		return tx.Model(&models.Delivery{}).Where("id = ? AND status = ?", probe[0], models.DeliveryHeld).
			Updates(map[string]any{"status": models.DeliveryPending, "dispatched_at": nil, "updated_at": Now()}).Error
	})
	return started, translate(err)
}

// oldestHeld selects a webhook's held deliveries that head their sequence
// (all of them when it is unordered), oldest first.
func oldestHeld(tx *gorm.DB, webhookID string) *gorm.DB {
	return tx.Table("deliveries d").Where("d.webhook_id = ? AND d.status = ?", webhookID, models.DeliveryHeld).
		Where(sequenceHead).Order("d.created_at, d.id")
}

// raisedEvent applies the hysteresis of operational events to the event a
// status change calls for (healthEvent): `failing` at most once per
// FailingCooldown (one held back is raised at a later failure, once the
// cooldown has passed), `recovered` only for a failure that was raised. It
// records what it raises in w and fields.
func raisedEvent(w *models.Webhook, to models.WebhookStatus, now time.Time, fields map[string]any) string {
	kind := healthEvent(w.Status, to)
	switch {
	case kind == EventWebhookRecovered:
		if !w.FailingOpen {
			return ""
		}
		fields["failing_open"] = false
	case kind == EventWebhookRetryLimitReached:
		fields["failing_open"] = true
	case (kind == EventWebhookFailing || kind == "") && failingStatus(to):
		if w.FailingOpen || (w.FailingRaisedAt != nil && now.Sub(*w.FailingRaisedAt) < FailingCooldown) {
			return ""
		}
		kind = EventWebhookFailing
		fields["failing_open"], fields["failing_raised_at"] = true, now
	}
	return kind
}
