package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/webhookd/webhookd/models"
)

// Operational event types: webhookd reports its webhooks' health through
// its own pipeline, to any webhook of the same tenant whose filters match.
const (
	EventWebhookFailing           = "webhookd.webhook.failing"
	EventWebhookRetryLimitReached = "webhookd.webhook.retryLimitReached"
	EventWebhookDisabled          = "webhookd.webhook.disabled"
	EventWebhookRecovered         = "webhookd.webhook.recovered"
	operationalPrefix             = "webhookd.webhook."
)

// IsOperationalEventType reports whether t is one of webhookd's operational
// event types.
func IsOperationalEventType(t string) bool { return strings.HasPrefix(t, operationalPrefix) }

// updateWebhookHealth applies the delivery semantics to the webhook's status
// and failure details, counts its run of failures for the circuit breaker
// (breaker.go), and writes the operational event the change calls for (when
// emit). A webhook that was disabled or deleted meanwhile keeps the state
// its owner gave it.
func (s *Store) updateWebhookHealth(tx *gorm.DB, r *AttemptResult, emit bool) error {
	if r.WebhookStatus == "" {
		return nil
	}
	live := func() *gorm.DB {
		return tx.Model(&models.Webhook{}).Where("id = ? AND enabled AND NOT deleted", r.WebhookID)
	}
	if r.WebhookStatus == models.WebhookActive {
		// The common case, a healthy webhook staying healthy, changes no
		// row and takes no lock.
		var n int64
		if err := live().Where("status <> ? OR next_attempt IS NOT NULL OR failure_streak > 0", models.WebhookActive).
			Count(&n).Error; err != nil || n == 0 {
			return err
		}
	}
	var w models.Webhook
	q := live()
	if s.dialect == Postgres {
		// The status read is the one replaced. NO KEY UPDATE, not UPDATE:
		// it serialises health changes all the same, but does not block
		// another attempt's new statistics row, whose foreign key takes
		// FOR KEY SHARE on this webhook. RecordAttempt counts statistics
		// after this lock; under FOR UPDATE, that attempt would hold the
		// stats row waiting for the webhook while this one waited for the
		// stats row: a deadlock.
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	if err := q.Limit(1).Find(&w).Error; err != nil || w.ID == "" {
		return err
	}
	if w.AutoPausedReason != "" && r.WebhookStatus != models.WebhookDisabled {
		return s.whileOpen(tx, &w, *r, emit)
	}
	fields := map[string]any{"status": r.WebhookStatus, "next_attempt": r.NextAttemptAt}
	if r.WebhookStatus != models.WebhookActive {
		failureDetails(&w, r.Attempt, fields)
		if r.WebhookStatus == models.WebhookDisabled {
			fields["enabled"] = false // 410 Gone: the receiver asked us to stop
		}
	}
	now := Now()
	opened := countFailure(&w, *r, fields)
	kind := ""
	if emit {
		kind = raisedEvent(&w, r.WebhookStatus, now, fields)
	}
	w.Status, w.NextAttempt = r.WebhookStatus, r.NextAttemptAt
	if opened {
		openBreaker(&w, now, fields)
		r.openedBreaker = true
		kind = ""
		if emit {
			kind = EventWebhookDisabled
		}
	}
	if err := tx.Model(&models.Webhook{}).Where("id = ?", w.ID).Updates(fields).Error; err != nil {
		return err
	}
	if kind == "" {
		return nil
	}
	return tx.Create(operationalEvent(&w, kind)).Error
}

// failingStatus reports whether s is one of the statuses of a failing
// webhook.
func failingStatus(s models.WebhookStatus) bool {
	return s == models.WebhookAwaitingRetry || s == models.WebhookFailed || s == models.WebhookRetryLimitReached
}

// healthEvent names the operational event a status change calls for, or "".
func healthEvent(from, to models.WebhookStatus) string {
	switch {
	case from == to:
		return ""
	case to == models.WebhookDisabled:
		return EventWebhookDisabled
	case to == models.WebhookRetryLimitReached:
		return EventWebhookRetryLimitReached
	case to == models.WebhookActive && (failingStatus(from) || from == models.WebhookAutoPaused):
		return EventWebhookRecovered
	case failingStatus(to) && !failingStatus(from):
		return EventWebhookFailing // the first failure after a success
	}
	return ""
}

// operationalEvent is the event reporting w's new health. It is stored
// waiting for fan-out (the starter matches it), so that it is written in the
// same transaction as the change it reports and can never be lost.
func operationalEvent(w *models.Webhook, kind string) *models.Event {
	now := Now()
	details := map[string]any{}
	if w.LastFailedAt != nil {
		details["lastFailedAt"] = w.LastFailedAt.UnixMilli()
	}
	if w.LastFailedStatusCode != nil {
		details["lastFailedStatusCode"] = *w.LastFailedStatusCode
	}
	if w.LastFailedReason != "" {
		details["lastFailedReason"] = w.LastFailedReason
	}
	if w.NextAttempt != nil {
		details["nextAttempt"] = w.NextAttempt.UnixMilli()
	}
	body := map[string]any{"webhookId": w.ID, "webhookName": w.Name, "status": w.Status, "failureDetails": details}
	if w.Status == models.WebhookAutoPaused {
		// disabled by the circuit breaker, not by the receiver (410)
		body["reason"] = "autoPaused"
		details["autoPausedReason"] = w.AutoPausedReason
	}
	data, _ := json.Marshal(body)
	id := w.ID
	return &models.Event{
		TenantID: w.TenantID, ID: "op_" + uuid.Must(uuid.NewV7()).String(), Type: kind, Data: data,
		Timestamp: now, CreatedAt: now, FanoutPending: true, SourceWebhookID: &id,
	}
}

// PendingFanout returns up to limit events waiting for their fan-out, oldest
// first; see PendingFanoutAfter.
func (s *Store) PendingFanout(ctx context.Context, limit int) ([]models.Event, error) {
	return s.PendingFanoutAfter(ctx, limit, nil)
}

// PendingFanoutAfter returns up to limit events waiting for their fan-out
// (operational events, marked fanout_pending, and large fan-outs' plans,
// marked by their fanout_plan) that come after after (nil: from the
// first), oldest first, so that a caller can page past events that fail.
// A plan is not read here (it may be a megabyte, and the caller may stop
// after a few): a planned event comes with FanoutPlan set to "", and
// CompleteFanout reads the plan under its claim. Each kind is read on its
// own partial index.
func (s *Store) PendingFanoutAfter(ctx context.Context, limit int, after *models.Event) ([]models.Event, error) {
	var evs, planned []models.Event
	if err := pendingFanoutPage(s.db.WithContext(ctx), fanoutPending, limit, after).Find(&evs).Error; err != nil {
		return nil, err
	}
	if err := pendingFanoutPage(s.db.WithContext(ctx), fanoutPlanned, limit, after).Find(&planned).Error; err != nil {
		return nil, err
	}
	for i := range planned {
		planned[i].FanoutPlan = new(string)
	}
	evs = append(evs, planned...)
	slices.SortFunc(evs, func(a, b models.Event) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.TenantID, b.TenantID), strings.Compare(a.ID, b.ID))
	})
	return evs[:min(limit, len(evs))], nil
}

// The markers of events waiting for their fan-out, each served by its
// partial index on (created_at, tenant_id, id) (migration 00022).
const (
	fanoutPending = "fanout_pending"
	fanoutPlanned = "fanout_plan IS NOT NULL"
)

// pendingFanoutPage is the query of a page of events with marker after
// after, plans left unread.
func pendingFanoutPage(tx *gorm.DB, marker string, limit int, after *models.Event) *gorm.DB {
	q := tx.Model(&models.Event{}).Omit("fanout_plan").Where(marker)
	if after != nil {
		q = q.Where("(created_at, tenant_id, id) > (?, ?, ?)", after.CreatedAt, after.TenantID, after.ID)
	}
	return q.Order("created_at, tenant_id, id").Limit(limit)
}

// CompleteFanout stores the deliveries of an event waiting for its fan-out
// and marks it fanned out, in one transaction: for an operational event,
// ds (its matches); for an event with a plan, the plan's deliveries as
// ingest decided them (ds must be empty), but for those whose webhook was
// hard-deleted since. It returns how many deliveries it inserted (the
// starter bounds its work per pass by them). If another process did so
// first, it writes nothing and reports false.
func (s *Store) CompleteFanout(ctx context.Context, ev *models.Event, ds []models.Delivery) (int, bool, error) {
	if ev.FanoutPlan != nil && len(ds) > 0 {
		return 0, false, errors.New("store: an event with a fan-out plan takes its planned deliveries only")
	}
	done := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The claim: of replicas racing, one updates the row; the others
		// find nothing pending (a plan's row locked by another replica is
		// skipped, not waited for; NO KEY, so that the key-share locks of
		// deliveries being written for the event do not make it skip).
		// A plan is claimed by its own column, an operational event by
		// fanout_pending (which a plan never sets: migration 00022).
		var res *gorm.DB
		if ev.FanoutPlan != nil {
			// The plan is read here, under the claim: it is written once,
			// with the event, and cleared only here.
			lock := ""
			if s.dialect == Postgres {
				lock = " FOR NO KEY UPDATE SKIP LOCKED"
			}
			var row struct{ FanoutPlan *string }
			if err := tx.Raw(`SELECT fanout_plan FROM events WHERE tenant_id = ? AND id = ? AND fanout_plan IS NOT NULL`+lock,
				ev.TenantID, ev.ID).Scan(&row).Error; err != nil || row.FanoutPlan == nil {
				return err
			}
			planned := *ev
			planned.FanoutPlan = row.FanoutPlan
			var err error
			if ds, err = PlannedDeliveries(&planned); err != nil {
				return fmt.Errorf("store: fan-out plan of event %s: %w", ev.ID, err)
			}
			res = tx.Exec(`UPDATE events SET fanout_plan = NULL WHERE tenant_id = ? AND id = ?`, ev.TenantID, ev.ID)
		} else {
			res = tx.Model(&models.Event{}).Where("tenant_id = ? AND id = ? AND fanout_pending", ev.TenantID, ev.ID).
				Update("fanout_pending", false)
		}
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		for i := range ds {
			ds[i].TenantID = ev.TenantID
		}
		if ev.FanoutPlan != nil && len(ds) > 0 {
			var err error
			if ds, err = liveWebhooks(tx, ds); err != nil {
				return err
			}
		}
		if err := insertDeliveries(tx, s.dialect, ds); err != nil {
			return err
		}
		done = true
		return nil
	})
	if !done || err != nil {
		return 0, false, translate(err)
	}
	return len(ds), true, nil
}
