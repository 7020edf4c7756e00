package store

import (
	"context"

	"github.com/webhookd/webhookd/models"
	"gorm.io/gorm"
)

// CreateWebhook inserts w; a live webhook with the same name is ErrConflict.
func (s *Store) CreateWebhook(ctx context.Context, w *models.Webhook) error {
	return translate(s.db.WithContext(ctx).Create(w).Error)
}

// GetWebhook returns the webhook with id, soft-deleted or not.
func (s *Store) GetWebhook(ctx context.Context, id string) (*models.Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var w models.Webhook
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&w).Error; err != nil {
		return nil, translate(err)
	}
	return &w, nil
}

// GetWebhookByName returns the live webhook called name, or with
// includeDeleted the most recently updated one of any state.
func (s *Store) GetWebhookByName(ctx context.Context, name string, includeDeleted bool) (*models.Webhook, error) {
	q := s.db.WithContext(ctx).Where("name = ?", name)
	if !includeDeleted {
		q = q.Where("NOT deleted")
	}
	var w models.Webhook
	if err := q.Order("deleted, updated_at DESC").Take(&w).Error; err != nil {
		return nil, translate(err)
	}
	return &w, nil
}

// WebhookPage selects a page of webhooks ordered by (name, id).
type WebhookPage struct {
	Limit          int
	AfterName      string
	AfterID        string
	IncludeDeleted bool
}

// ListWebhooks returns one page and the total count of matching webhooks.
func (s *Store) ListWebhooks(ctx context.Context, p WebhookPage) ([]models.Webhook, int64, error) {
	base := s.db.WithContext(ctx).Model(&models.Webhook{})
	if !p.IncludeDeleted {
		base = base.Where("NOT deleted")
	}
	var total int64
	if err := base.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, err
	}
	q := base.Session(&gorm.Session{})
	if p.AfterName != "" {
		q = q.Where("(name, id) > (?, ?)", p.AfterName, p.AfterID)
	}
	var ws []models.Webhook
	err := q.Order("name, id").Limit(p.Limit).Find(&ws).Error
	return ws, total, err
}

// UpdateWebhook writes every configurable column of w if the stored version
// still equals expectVersion (optimistic locking); otherwise ErrConflict.
// Status and failure details belong to the delivery path and are left alone.
func (s *Store) UpdateWebhook(ctx context.Context, w *models.Webhook, expectVersion float64) error {
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).
		Where("id = ? AND version = ?", w.ID, expectVersion).
		Select("name", "display_name", "description", "webhook_type", "enabled", "batch_size",
			"event_filters", "endpoint", "secret_key", "headers", "timeout_seconds", "send_to_admins",
			"send_to_owners", "send_to_followers", "payload_template", "owner", "tags", "domain",
			"version", "updated_by", "updated_at", "status").
		Updates(w)
	if err := translate(res.Error); err != nil {
		return err
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetWebhook(ctx, w.ID); err != nil {
			return err
		}
		return ErrStale
	}
	return nil
}

// SoftDeleteWebhook marks the webhook deleted and disabled; its deliveries
// stop at their next attempt.
func (s *Store) SoftDeleteWebhook(ctx context.Context, id, by string) error {
	if !validID(id) {
		return ErrNotFound
	}
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).Where("id = ? AND NOT deleted", id).
		Updates(map[string]any{"deleted": true, "enabled": false, "status": models.WebhookDisabled,
			"updated_by": by, "updated_at": Now(), "version": gorm.Expr("version + 0.1")})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// HardDeleteWebhook removes the webhook and, by cascade, its delivery log.
func (s *Store) HardDeleteWebhook(ctx context.Context, id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&models.Webhook{})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ActiveWebhooks returns every enabled, live webhook: the candidates an event
// is matched against.
func (s *Store) ActiveWebhooks(ctx context.Context) ([]models.Webhook, error) {
	var ws []models.Webhook
	err := s.db.WithContext(ctx).Where("enabled AND NOT deleted").Order("id").Find(&ws).Error
	return ws, err
}
