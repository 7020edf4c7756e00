package store

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// PurgeResult counts rows a retention pass removed.
type PurgeResult struct {
	Events, Deliveries, Attempts int64
	// ConsoleRevocations are sign-outs of console sessions that have
	// expired since.
	ConsoleRevocations int64
}

const purgeBatch = 500

// inProgress are the delivery states retention never removes: work still to
// do, including deliveries held for a paused webhook (they go when their
// webhook does).
var inProgress = []models.DeliveryStatus{models.DeliveryPending, models.DeliveryDelivering, models.DeliveryAwaitingRetry, models.DeliveryHeld}

// eventKey is an event's primary key.
type eventKey struct {
	TenantID string
	ID       string
}

// keyList is a row-value list for `(tenant_id, id) IN ?`.
func keyList(keys []eventKey) [][]any {
	out := make([][]any, len(keys))
	for i, k := range keys {
		out[i] = []any{k.TenantID, k.ID}
	}
	return out
}

// noneInProgress keeps an event while any delivery that carries it, alone
// or in a batch, is unfinished, or its fan-out is still to be stored (a
// plan, an operational event). A test send left unfinished (its process
// died before starting it) does not count: nothing will finish it.
const noneInProgress = `NOT events.fanout_pending AND events.fanout_plan IS NULL AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = events.tenant_id AND d.event_id = events.id AND d.status IN @open AND d.trigger <> 'test')
	AND NOT EXISTS (SELECT 1 FROM batch_events b JOIN deliveries d ON d.id = b.delivery_id
		WHERE b.tenant_id = events.tenant_id AND b.event_id = events.id AND d.status IN @open)`

// PurgeBefore deletes events created before cutoff, with their deliveries and
// attempts, in small transactions, skipping any event that has a delivery
// still in progress. The same pass forgets console sign-outs whose sessions
// have expired.
func (s *Store) PurgeBefore(ctx context.Context, cutoff time.Time) (PurgeResult, error) {
	var total PurgeResult
	var err error
	if total.ConsoleRevocations, err = s.purgeConsoleRevocations(ctx, Now()); err != nil {
		return total, err
	}
	for {
		var keys []eventKey
		err := s.db.WithContext(ctx).Model(&models.Event{}).Select("tenant_id, id").
			Where("created_at < ?", cutoff).Where(noneInProgress, sql.Named("open", inProgress)).
			Order("created_at").Limit(purgeBatch).Scan(&keys).Error
		if err != nil || len(keys) == 0 {
			return total, err
		}
		found := len(keys)
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// Re-check inside the transaction: a replay may have started.
			// Into a fresh slice: Scan leaves its destination alone when
			// no row comes back, which would purge what was just replayed.
			var still []eventKey
			if err := tx.Model(&models.Event{}).Select("tenant_id, id").
				Where("(tenant_id, id) IN ?", keyList(keys)).Where(noneInProgress, sql.Named("open", inProgress)).
				Scan(&still).Error; err != nil || len(still) == 0 {
				return err
			}
			keys = still
			deliveries := tx.Model(&models.Delivery{}).Select("id").Where("(tenant_id, event_id) IN ?", keyList(keys))
			res := tx.Where("delivery_id IN (?)", deliveries).Delete(&models.Attempt{})
			if res.Error != nil {
				return res.Error
			}
			total.Attempts += res.RowsAffected
			if res = tx.Where("(tenant_id, event_id) IN ?", keyList(keys)).Delete(&models.Delivery{}); res.Error != nil {
				return res.Error
			}
			total.Deliveries += res.RowsAffected
			res = tx.Where("(tenant_id, id) IN ?", keyList(keys)).Delete(&models.Event{})
			total.Events += res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, err
		}
		if found < purgeBatch {
			return total, nil
		}
	}
}
