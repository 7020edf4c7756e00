package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// The outbox: ingest commits deliveries with dispatched_at NULL and the
// starter hands them to Temporal afterwards, so producers never wait on
// Temporal and a crash between the two loses nothing.

// startWindowLock serialises claims across processes on PostgreSQL, so that
// the admission window is one bound for all of them, not one per replica.
const startWindowLock = 0x77656268 // "webh"

// ClaimForStart marks waiting deliveries as dispatched at now and returns
// them, oldest first: at most limit, and no more than the room left in the
// admission window (window minus the deliveries already started and not yet
// attempted). full reports a window with no room. A batch is claimed once it
// has closed. Several processes may claim at once: each row goes to exactly
// one of them (FOR UPDATE SKIP LOCKED), and the window is counted under a
// lock they share; SQLite has a single process.
func (s *Store) ClaimForStart(ctx context.Context, limit, window int, now time.Time) (ds []models.Delivery, full bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		lock := ""
		if s.dialect == Postgres {
			lock = "FOR UPDATE SKIP LOCKED"
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", startWindowLock).Error; err != nil {
				return err
			}
		}
		starting, err := countStarting(tx)
		if err != nil {
			return err
		}
		room := window - int(starting)
		if room <= 0 {
			full = true
			return nil
		}
		// Of an ordered webhook's deliveries, only each sequence's head
		// (sequence.go).
		sql := `UPDATE deliveries SET dispatched_at = ?, starts = starts + 1 WHERE id IN (
			SELECT d.id FROM deliveries d
			WHERE d.status = 'pending' AND d.dispatched_at IS NULL AND (d.batch_closes_at IS NULL OR d.batch_closes_at <= ?)
			AND ` + sequenceHead + `
			ORDER BY d.created_at, d.id LIMIT ? ` + lock + `) RETURNING *`
		return tx.Raw(sql, now, now, min(limit, room)).Scan(&ds).Error
	})
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(ds, func(a, b models.Delivery) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds, full, nil
}

// ReleaseClaims puts deliveries whose start failed back in the outbox.
func (s *Store) ReleaseClaims(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Model(&models.Delivery{}).Where("id IN ?", ids).
		Update("dispatched_at", nil).Error
}

// CountStarting counts deliveries handed to Temporal whose first attempt has
// not begun: the work queued in Temporal, which the starter keeps bounded.
// Test sends are left out: they are started outside the window, and one
// whose start failed must not hold a place in it.
func (s *Store) CountStarting(ctx context.Context) (int64, error) {
	return countStarting(s.db.WithContext(ctx))
}

func countStarting(db *gorm.DB) (int64, error) {
	var n int64
	err := db.Model(&models.Delivery{}).
		Where("status = ? AND dispatched_at IS NOT NULL AND trigger <> ?", models.DeliveryPending, models.TriggerTest).Count(&n).Error
	return n, err
}

// CountUndispatched counts deliveries waiting in the outbox (open batches
// included): the start backlog.
func (s *Store) CountUndispatched(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Delivery{}).
		Where("status = ? AND dispatched_at IS NULL", models.DeliveryPending).Count(&n).Error
	return n, err
}

// NextBatchClose returns when the next open batch closes, if any.
func (s *Store) NextBatchClose(ctx context.Context) (time.Time, bool, error) {
	var d models.Delivery
	err := s.db.WithContext(ctx).Select("batch_closes_at").
		Where("status = ? AND dispatched_at IS NULL AND batch_closes_at IS NOT NULL", models.DeliveryPending).
		Order("batch_closes_at").Limit(1).Find(&d).Error
	if err != nil || d.BatchClosesAt == nil {
		return time.Time{}, false, err
	}
	return *d.BatchClosesAt, true, nil
}

// CountByStatus counts deliveries in a status, with predicates that match
// the partial indexes kept for the statuses an operator watches (the
// counts are then read from an index alone).
func (s *Store) CountByStatus(ctx context.Context, status models.DeliveryStatus) (int64, error) {
	var n int64
	if status == models.DeliveryPending {
		waiting, err := s.CountUndispatched(ctx)
		if err != nil {
			return 0, err
		}
		started, err := s.CountStarting(ctx)
		return waiting + started, err
	}
	err := s.db.WithContext(ctx).Model(&models.Delivery{}).Where("status = ?", status).Count(&n).Error
	return n, err
}
