package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// PurgeResult counts rows a retention pass removed.
type PurgeResult struct {
	Events, Deliveries, Attempts int64
}

const purgeBatch = 500

// inProgress are the delivery states retention never removes.
var inProgress = []models.DeliveryStatus{models.DeliveryPending, models.DeliveryDelivering, models.DeliveryAwaitingRetry}

// PurgeBefore deletes events created before cutoff, with their deliveries and
// attempts, in small transactions, skipping any event that has a delivery
// still in progress.
func (s *Store) PurgeBefore(ctx context.Context, cutoff time.Time) (PurgeResult, error) {
	var total PurgeResult
	for {
		var ids []string
		err := s.db.WithContext(ctx).Model(&models.Event{}).
			Where("created_at < ?", cutoff).
			Where("NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status IN ?)", inProgress).
			Order("created_at").Limit(purgeBatch).Pluck("id", &ids).Error
		if err != nil || len(ids) == 0 {
			return total, err
		}
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// Re-check inside the transaction: a replay may have started.
			if err := tx.Model(&models.Event{}).Where("id IN ?", ids).
				Where("NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status IN ?)", inProgress).
				Pluck("id", &ids).Error; err != nil {
				return err
			}
			res := tx.Where("delivery_id IN (?)", tx.Model(&models.Delivery{}).Select("id").Where("event_id IN ?", ids)).
				Delete(&models.Attempt{})
			if res.Error != nil {
				return res.Error
			}
			total.Attempts += res.RowsAffected
			if res = tx.Where("event_id IN ?", ids).Delete(&models.Delivery{}); res.Error != nil {
				return res.Error
			}
			total.Deliveries += res.RowsAffected
			res = tx.Where("id IN ?", ids).Delete(&models.Event{})
			total.Events += res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, err
		}
		if len(ids) < purgeBatch {
			return total, nil
		}
	}
}
