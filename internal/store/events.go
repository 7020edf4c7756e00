package store

import (
	"context"
	"errors"

	"github.com/webhookd/webhookd/models"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// IngestEvent stores an event and its deliveries in one transaction. If an
// event with the same id exists, nothing is written and the stored event and
// its deliveries are returned with created=false: ingestion is idempotent.
func (s *Store) IngestEvent(ctx context.Context, ev *models.Event, ds []models.Delivery) (stored *models.Event, deliveries []models.Delivery, created bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(ev)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errDuplicate
		}
		if len(ds) > 0 {
			if err := tx.CreateInBatches(ds, 500).Error; err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		return ev, ds, true, nil
	case errors.Is(err, errDuplicate):
		stored, err = s.GetEvent(ctx, ev.ID)
		if err != nil {
			return nil, nil, false, err
		}
		deliveries, err = s.EventDeliveries(ctx, ev.ID)
		return stored, deliveries, false, err
	}
	return nil, nil, false, translate(err)
}

var errDuplicate = errors.New("duplicate event")

// GetEvent returns the event with id.
func (s *Store) GetEvent(ctx context.Context, id string) (*models.Event, error) {
	var ev models.Event
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&ev).Error; err != nil {
		return nil, translate(err)
	}
	return &ev, nil
}

// EventDeliveries returns an event's deliveries, oldest first.
func (s *Store) EventDeliveries(ctx context.Context, eventID string) ([]models.Delivery, error) {
	var ds []models.Delivery
	err := s.db.WithContext(ctx).Where("event_id = ?", eventID).Order("created_at, id").Find(&ds).Error
	return ds, err
}
