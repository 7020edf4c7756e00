package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/webhookd/webhookd/models"
)

// RevokeConsoleSession records that the console session id was signed out;
// until is when it would have expired anyway.
func (s *Store) RevokeConsoleSession(ctx context.Context, id string, until time.Time) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.ConsoleRevocation{SessionID: id, ExpiresAt: until.UTC()}).Error
}

// ConsoleSessionRevoked reports whether the console session id was signed
// out: one read of the primary key, made on every console request.
func (s *Store) ConsoleSessionRevoked(ctx context.Context, id string) (bool, error) {
	var r models.ConsoleRevocation
	err := s.db.WithContext(ctx).Select("session_id").Where("session_id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil, err
}

// purgeConsoleRevocations forgets sign-outs of sessions that have expired
// since: their cookies no longer open anyway.
func (s *Store) purgeConsoleRevocations(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", now).Delete(&models.ConsoleRevocation{})
	return res.RowsAffected, res.Error
}
