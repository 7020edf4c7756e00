package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webhookd/webhookd/models"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// GetDelivery returns the delivery with id.
func (s *Store) GetDelivery(ctx context.Context, id string) (*models.Delivery, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var d models.Delivery
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return nil, translate(err)
	}
	return &d, nil
}

// DeliveryContext is everything an attempt needs to build its request.
// LoadDelivery reads the three rows in one query, each table's columns
// under its own prefix (they share id, tenant_id, created_at...).
type DeliveryContext struct {
	Delivery models.Delivery `gorm:"embedded;embeddedPrefix:d__"`
	Event    models.Event    `gorm:"embedded;embeddedPrefix:e__"`
	Webhook  models.Webhook  `gorm:"embedded;embeddedPrefix:w__"`
	// Batch holds a batch delivery's events, in order; nil otherwise.
	Batch []models.Event `gorm:"-"`
}

// LoadDelivery reads a delivery with its event and webhook, in one round
// trip (every attempt starts here), and a batch's events in a second. A
// delivery whose webhook was hard-deleted is gone with it: ErrNotFound.
func (s *Store) LoadDelivery(ctx context.Context, id string) (*DeliveryContext, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	q, err := loadDeliveryQuery()
	if err != nil {
		return nil, err
	}
	var dc DeliveryContext
	res := s.db.WithContext(ctx).Raw(q, id).Scan(&dc)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	if err := s.open(&dc.Webhook); err != nil {
		return nil, err
	}
	if dc.Delivery.BatchSize > 0 {
		evs, err := s.BatchEvents(ctx, id)
		if err != nil {
			return nil, err
		}
		dc.Batch = evs
	}
	return &dc, nil
}

// loadDeliveryQuery joins a delivery to its event and webhook, naming
// every column of the three models under DeliveryContext's prefixes (a
// column added to a model is read with no change here).
var loadDeliveryQuery = sync.OnceValues(func() (string, error) {
	var cols []string
	for _, t := range []struct {
		model any
		alias string
	}{{&models.Delivery{}, "d"}, {&models.Event{}, "e"}, {&models.Webhook{}, "w"}} {
		sch, err := schema.Parse(t.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			return "", err
		}
		for _, c := range sch.DBNames {
			cols = append(cols, fmt.Sprintf(`%s.%q AS %q`, t.alias, c, t.alias+"__"+c))
		}
	}
	return "SELECT " + strings.Join(cols, ", ") + ` FROM deliveries d
		JOIN events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
		JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.id = ?`, nil
})

// MarkDelivering records that an attempt is in flight.
func (s *Store) MarkDelivering(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Model(&models.Delivery{}).Where("id = ?", id).
		Updates(map[string]any{"status": models.DeliveryDelivering, "updated_at": Now()}).Error
}

// AttemptResult is one attempt and the state it leads to.
type AttemptResult struct {
	DeliveryID string
	WebhookID  string
	// Attempt is nil when nothing was sent (the delivery was cancelled).
	Attempt        *models.Attempt
	DeliveryStatus models.DeliveryStatus
	NextAttemptAt  *time.Time
	// WaitingFor is retryAfter while the delivery waits out a throttling
	// answer; "" otherwise.
	WaitingFor models.WaitingFor
	// WebhookStatus is the webhook's new status, or "" to leave it.
	WebhookStatus models.WebhookStatus
	// fresh is set by RecordAttempt when the attempt was not recorded
	// before: only then does it count toward the circuit breaker.
	fresh bool
	// openedBreaker is set by RecordAttempt when the attempt opened the
	// webhook's circuit breaker.
	openedBreaker bool
}

// RecordAttempt stores an attempt, the delivery's new state, the webhook's
// health and statistics in one transaction, with the operational event a
// health change calls for. Recording the same attempt again changes nothing
// more (the attempt row is kept once, statistics count it once, and a health
// change already made is no change), so callers may retry freely.
func (s *Store) RecordAttempt(ctx context.Context, r AttemptResult) error {
	moved := false
	err := translate(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A hard-deleted webhook takes its deliveries with it; an attempt
		// that was in flight then has nothing left to record.
		var del []models.Delivery
		if err := tx.Select("id, event_type, sequence_key").Where("id = ?", r.DeliveryID).Limit(1).Find(&del).Error; err != nil || len(del) == 0 {
			return err
		}
		now := Now()
		delivery := map[string]any{
			"status": r.DeliveryStatus, "next_attempt_at": r.NextAttemptAt, "waiting_for": r.WaitingFor, "updated_at": now,
		}
		if r.DeliveryStatus == models.DeliveryHeld {
			// The workflow saw the webhook paused; a resume may have
			// released its held deliveries since. Read the flag under a
			// lock that a resume's update waits for (and that waits for
			// it): held only while still paused, else back to the outbox.
			paused, err := webhookPaused(tx, s.dialect, r.WebhookID)
			if err != nil {
				return err
			}
			if !paused {
				delivery["status"], delivery["dispatched_at"] = models.DeliveryPending, nil
			}
		}
		if a := r.Attempt; a != nil {
			res := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "delivery_id"}, {Name: "number"}}, DoNothing: true,
			}).Create(a)
			if res.Error != nil {
				return res.Error
			}
			r.fresh = res.RowsAffected == 1
			delivery["attempt_count"] = gorm.Expr("CASE WHEN attempt_count < ? THEN ? ELSE attempt_count END", a.Number, a.Number)
			if r.fresh && r.WaitingFor == models.WaitingForRetryAfter {
				delivery["throttle_waits"] = gorm.Expr("throttle_waits + 1")
			}
			delivery["last_status_code"] = a.ResponseStatus
			delivery["last_duration_ms"] = a.DurationMs
			delivery["last_error"] = a.Error
		}
		if err := tx.Model(&models.Delivery{}).Where("id = ?", r.DeliveryID).Updates(delivery).Error; err != nil {
			return err
		}
		if r.DeliveryStatus == models.DeliveryHeld && r.Attempt != nil {
			if err := probeFailed(tx, r); err != nil { // the circuit breaker's probe
				return err
			}
		}
		var err error
		if moved, err = settleInSequence(tx, r.DeliveryID, r.DeliveryStatus, del[0].SequenceKey != nil); err != nil {
			return err
		}
		// Operational events are never raised by the delivery of an
		// operational event: an alert channel that fails cannot start a
		// loop of alerts about alerts.
		if err := s.updateWebhookHealth(tx, &r, !IsOperationalEventType(del[0].EventType)); err != nil {
			return err
		}
		// Last: the statistics row is shared by every attempt of the
		// webhook in its bucket, and the upsert locks it until the commit.
		// Taken last, it is held for one statement, not for the whole
		// transaction (concurrent attempts of one webhook queued on it).
		if a := r.Attempt; a != nil && r.fresh && a.Trigger != models.TriggerTest {
			return countAttempt(tx, r.WebhookID, a)
		}
		return nil
	}))
	if err == nil && moved {
		s.wakeSequences()
	}
	if err == nil && r.openedBreaker {
		// Every request of the webhook waiting for a rate slot will be
		// held: the line goes, so that the probe is not queued behind
		// slots nobody will use (a line stretched by the halvings that
		// came with the failures can reach minutes) and the released
		// deliveries queue again, oldest first. After the commit: should a
		// success in flight close the breaker first, the slots its
		// released deliveries reserved go too, and they queue again
		// (sent_tat keeps the spacing). A retried record would not open
		// the breaker again: starting the probe drops the line as well.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = s.DropRateReservations(dctx, r.WebhookID, "")
		cancel()
	}
	if err == nil && r.DeliveryStatus == models.DeliveryCancelled {
		// Apart from the record, which stays: should it fail, the caller
		// records again (no change) and drops again; a reservation or a
		// place left behind anyway expires (reservationLife, waiterMargin).
		err = s.DropRateReservations(ctx, r.WebhookID, r.DeliveryID)
		if err == nil {
			err = s.leaveLine(ctx, r.WebhookID, r.DeliveryID)
		}
	}
	return err
}

func webhookPaused(tx *gorm.DB, dialect Dialect, id string) (bool, error) {
	q := tx.Model(&models.Webhook{}).Where("id = ?", id)
	if dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	var paused []bool
	if err := q.Limit(1).Pluck("paused", &paused).Error; err != nil {
		return false, err
	}
	return len(paused) == 1 && paused[0], nil
}

// ReleaseHeld puts back in the outbox the held deliveries of webhooks that
// are not paused, last changed before the given time: a delivery marked held
// from a stale view of the webhook (an ingest racing a resume) would
// otherwise wait forever. It reports how many it released.
func (s *Store) ReleaseHeld(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&models.Delivery{}).
		Where("status = ? AND updated_at < ? AND webhook_id IN (?)", models.DeliveryHeld, before,
			s.db.Model(&models.Webhook{}).Select("id").Where("NOT paused")).
		Updates(map[string]any{"status": models.DeliveryPending, "dispatched_at": nil, "updated_at": Now()})
	return res.RowsAffected, translate(res.Error)
}

func failureReason(a *models.Attempt) string {
	if a.Error != "" {
		return a.Error
	}
	if a.ResponseStatus != nil {
		return "endpoint answered HTTP " + strconv.Itoa(*a.ResponseStatus)
	}
	return "unknown failure"
}

// Orphans returns deliveries whose workflow may be missing: dispatched
// before pendingCutoff with no attempt since (the process died between
// claiming and starting it, or the start was lost), awaiting a retry due
// before overdueCutoff, or delivering since before overdueCutoff (the
// workflow failed or was terminated from outside). Deliveries still in the
// outbox are the starter's, not the reconciler's. Test deliveries are not
// retried.
func (s *Store) Orphans(ctx context.Context, pendingCutoff, overdueCutoff time.Time, limit int) ([]models.Delivery, error) {
	var ds []models.Delivery
	err := s.db.WithContext(ctx).
		Where("(status = ? AND dispatched_at < ?) OR (status = ? AND next_attempt_at < ?) OR (status = ? AND updated_at < ?)",
			models.DeliveryPending, pendingCutoff, models.DeliveryAwaitingRetry, overdueCutoff, models.DeliveryDelivering, overdueCutoff).
		Where("trigger <> ?", models.TriggerTest).
		Limit(limit).Find(&ds).Error
	return ds, err
}

// Attempts returns a delivery's attempts in order.
func (s *Store) Attempts(ctx context.Context, deliveryID string) ([]models.Attempt, error) {
	var as []models.Attempt
	err := s.db.WithContext(ctx).Where("delivery_id = ?", deliveryID).Order("number").Find(&as).Error
	return as, err
}

// ResetForReplay makes a delivery pending again for a replay run, claimed by
// the caller, which starts it (or releases the claim). A delivery of a
// sequence instead goes back to the outbox in its place, skipped no more:
// the starter sends it when it heads its sequence and nothing else of the
// sequence is in flight (sequence.go), so a replay (or the DLQ's replay of
// several) never races the sequence. The caller must not start it.
func (s *Store) ResetForReplay(ctx context.Context, id string) (*models.Delivery, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var cur []models.Delivery // a delivery's sequence is fixed when it is stored
	if err := s.db.WithContext(ctx).Select("id, sequence_key").Where("id = ?", id).Limit(1).Find(&cur).Error; err != nil {
		return nil, translate(err)
	}
	now := Now()
	var dispatched any = now
	if len(cur) == 1 && cur[0].SequenceKey != nil {
		dispatched = nil
	}
	res := s.db.WithContext(ctx).Model(&models.Delivery{}).Where("id = ?", id).Updates(map[string]any{
		"status": models.DeliveryPending, "trigger": models.TriggerReplay, "next_attempt_at": nil, "updated_at": now,
		"dispatched_at": dispatched, "sequence_skipped": false, "waiting_for": "",
	})
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	return s.GetDelivery(ctx, id)
}

// DeliveryQuery filters and pages a delivery log, newest first.
type DeliveryQuery struct {
	// TenantID narrows to one tenant; empty means every tenant.
	TenantID  string
	WebhookID string
	Status    models.DeliveryStatus
	EventType string
	Since     time.Time // inclusive; zero means unbounded
	Until     time.Time // exclusive; zero means unbounded
	// NoTests leaves out deliveries of the test button (the dead-letter
	// queue holds real deliveries only).
	NoTests bool
	Limit   int
	// Keyset cursor: only rows strictly older than (AfterCreated, AfterID).
	// Rows inserted while paging are newer, so pages never shift.
	AfterCreated time.Time
	AfterID      string
}

// DeadLetters narrows q to the dead-letter queue: failed real deliveries
// (not tests).
func DeadLetters(q DeliveryQuery) DeliveryQuery {
	q.Status, q.NoTests = models.DeliveryFailed, true
	return q
}

// ListDeliveries returns one page of deliveries matching q.
func (s *Store) ListDeliveries(ctx context.Context, q DeliveryQuery) ([]models.Delivery, error) {
	var ds []models.Delivery
	err := listDeliveries(s.db.WithContext(ctx), q).Find(&ds).Error
	return ds, err
}

func listDeliveries(db *gorm.DB, q DeliveryQuery) *gorm.DB {
	db = deliveryFilter(db, q)
	if q.AfterID != "" {
		db = db.Where("(created_at, id) < (?, ?)", q.AfterCreated, q.AfterID)
	}
	return db.Order("created_at DESC, id DESC").Limit(q.Limit)
}

func deliveryFilter(db *gorm.DB, q DeliveryQuery) *gorm.DB {
	db = db.Model(&models.Delivery{})
	if q.TenantID != "" {
		db = db.Where("tenant_id = ?", q.TenantID)
	}
	if q.WebhookID != "" {
		if !validID(q.WebhookID) {
			return db.Where("1 = 0") // names no webhook; PostgreSQL would reject it as a uuid
		}
		db = db.Where("webhook_id = ?", q.WebhookID)
	}
	if q.Status != "" {
		db = db.Where("status = ?", q.Status)
	}
	if q.EventType != "" {
		db = db.Where("event_type = ?", q.EventType)
	}
	if q.NoTests {
		db = db.Where("trigger <> ?", models.TriggerTest)
	}
	if !q.Since.IsZero() {
		db = db.Where("created_at >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		db = db.Where("created_at < ?", q.Until)
	}
	return db
}

// CountDeliveries counts the deliveries q matches, ignoring its paging.
func (s *Store) CountDeliveries(ctx context.Context, q DeliveryQuery) (int64, error) {
	q.Limit, q.AfterID = 0, ""
	var n int64
	err := deliveryFilter(s.db.WithContext(ctx), q).Count(&n).Error
	return n, err
}
