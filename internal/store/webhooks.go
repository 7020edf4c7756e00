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

// Include selects webhooks by their soft-delete state (OpenMetadata's
// include parameter).
type Include string

const (
	NonDeleted Include = "non-deleted"
	Deleted    Include = "deleted"
	All        Include = "all"
)

func (i Include) apply(q *gorm.DB) *gorm.DB {
	switch i {
	case Deleted:
		return q.Where("deleted")
	case All:
		return q
	}
	return q.Where("NOT deleted")
}

// GetWebhookByName returns the webhook called name in the given state; when
// several match (deleted ones share names), the live one, else the latest.
func (s *Store) GetWebhookByName(ctx context.Context, name string, include Include) (*models.Webhook, error) {
	var w models.Webhook
	err := include.apply(s.db.WithContext(ctx).Where("name = ?", name)).Order("deleted, updated_at DESC").Take(&w).Error
	if err != nil {
		return nil, translate(err)
	}
	return &w, nil
}

// WebhookPage selects a page of webhooks ordered by (name, id).
type WebhookPage struct {
	Limit     int
	AfterName string
	AfterID   string
	Include   Include
}

// ListWebhooks returns one page and the total count of matching webhooks.
func (s *Store) ListWebhooks(ctx context.Context, p WebhookPage) ([]models.Webhook, int64, error) {
	base := p.Include.apply(s.db.WithContext(ctx).Model(&models.Webhook{}))
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
// still equals expectVersion (optimistic locking); otherwise ErrStale.
// Health (status, failure details, and enabled after a 410) belongs to the
// delivery path, which does not bump the version: enabled and status are
// written only when the caller changes enabled, and then only if enabled is
// still wasEnabled, so an edit never undoes a receiver's 410.
func (s *Store) UpdateWebhook(ctx context.Context, w *models.Webhook, expectVersion float64, wasEnabled bool) error {
	if !validID(w.ID) {
		return ErrNotFound
	}
	cols := []string{"name", "display_name", "description", "webhook_type", "batch_size",
		"event_filters", "endpoint", "secret_key", "headers", "timeout_seconds", "send_to_admins",
		"send_to_owners", "send_to_followers", "payload_template", "owner", "tags", "domain",
		"version", "updated_by", "updated_at"}
	q := s.db.WithContext(ctx).Model(&models.Webhook{}).Where("id = ? AND version = ?", w.ID, expectVersion)
	if w.Enabled != wasEnabled {
		cols = append(cols, "enabled", "status")
		q = q.Where("enabled = ?", wasEnabled)
	}
	res := q.Select(cols).Updates(w)
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
