package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"

	"github.com/webhookd/webhookd/models"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CreateWebhook inserts w; a live webhook of its tenant with the same name
// is ErrConflict. A webhook that names no tenant belongs to the default one.
func (s *Store) CreateWebhook(ctx context.Context, w *models.Webhook) error {
	return s.createWebhook(s.db.WithContext(ctx), w)
}

func (s *Store) createWebhook(db *gorm.DB, w *models.Webhook) error {
	if w.TenantID == "" {
		w.TenantID = models.DefaultTenant
	}
	if w.PayloadFormat == "" {
		w.PayloadFormat = "webhookd"
	}
	sealed, err := s.sealed(w)
	if err != nil {
		return err
	}
	return translate(db.Create(sealed).Error)
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
	return &w, s.open(&w)
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

// GetWebhookByName returns the tenant's webhook called name in the given
// state; when several match (deleted ones share names), the live one, else
// the latest.
func (s *Store) GetWebhookByName(ctx context.Context, tenant, name string, include Include) (*models.Webhook, error) {
	var w models.Webhook
	err := include.apply(s.db.WithContext(ctx).Where("tenant_id = ? AND name = ?", tenant, name)).
		Order("deleted, updated_at DESC").Take(&w).Error
	if err != nil {
		return nil, translate(err)
	}
	return &w, s.open(&w)
}

// WebhookPage selects a page of webhooks ordered by (name, id).
type WebhookPage struct {
	// TenantID narrows the page to one tenant; empty means every tenant.
	TenantID  string
	Limit     int
	AfterName string
	AfterID   string
	Include   Include
	// Status and Paused narrow the page when set.
	Status models.WebhookStatus
	Paused *bool
}

// ListWebhooks returns one page and the total count of matching webhooks.
func (s *Store) ListWebhooks(ctx context.Context, p WebhookPage) ([]models.Webhook, int64, error) {
	base := p.Include.apply(s.db.WithContext(ctx).Model(&models.Webhook{}))
	if p.TenantID != "" {
		base = base.Where("tenant_id = ?", p.TenantID)
	}
	if p.Status != "" {
		base = base.Where("status = ?", p.Status)
	}
	if p.Paused != nil {
		base = base.Where("paused = ?", *p.Paused)
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
	if err := q.Order("name, id").Limit(p.Limit).Find(&ws).Error; err != nil {
		return nil, 0, err
	}
	return ws, total, s.openAll(ws)
}

// UpdateWebhook writes every configurable column of w if the stored version
// still equals expectVersion (optimistic locking); otherwise ErrStale.
// Health (status, failure details, and enabled after a 410) belongs to the
// delivery path, which does not bump the version: enabled and status are
// written only when the caller changes enabled, and then only if enabled is
// still wasEnabled, so an edit never undoes a receiver's 410. A changed
// rateLimit moves the rate slots reserved under the old one, in the same
// transaction (rateLimitEdited).
func (s *Store) UpdateWebhook(ctx context.Context, w *models.Webhook, expectVersion float64, wasEnabled bool) error {
	if !validID(w.ID) {
		return ErrNotFound
	}
	cols := []string{"name", "display_name", "description", "webhook_type", "batch_size",
		"event_filters", "endpoint", "endpoint_sealed", "secret_key", "headers", "timeout_seconds", "send_to_admins",
		"send_to_owners", "send_to_followers", "payload_template", "payload_format", "retry_schedule", "batch_enabled",
		"batch_max_wait_ms", "max_concurrency", "rate_limit", "owner", "tags", "domain", "auth", "client_certificate", "client_key",
		"ordering_key", "ordering_on_exhausted", "breaker_off", "breaker_failures", "breaker_span_ms",
		"version", "updated_by", "updated_at"}
	sealed, err := s.sealed(w)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The rate the update replaces: the row at expectVersion has it,
		// and the update below only writes that row.
		var was float64
		if err := tx.Raw("SELECT rate_limit FROM webhooks WHERE id = ? AND version = ?", w.ID, expectVersion).Row().Scan(&was); errors.Is(err, sql.ErrNoRows) {
			return ErrStale
		} else if err != nil {
			return err
		}
		q := tx.Model(&models.Webhook{}).Where("id = ? AND version = ?", w.ID, expectVersion)
		if w.Enabled != wasEnabled {
			cols = append(cols, "enabled", "status")
			q = q.Where("enabled = ?", wasEnabled)
		}
		res := q.Select(cols).Updates(sealed)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrStale
		}
		if was == w.RateLimit {
			return nil
		}
		return rateLimitEdited(tx, s.dialect, w.ID, was, w.RateLimit)
	})
	if errors.Is(err, ErrStale) {
		if _, err := s.GetWebhook(ctx, w.ID); err != nil {
			return err
		}
		return ErrStale
	}
	return translate(err)
}

// SoftDeleteWebhook marks the webhook deleted and disabled; its deliveries
// stop at their next attempt.
func (s *Store) SoftDeleteWebhook(ctx context.Context, id, by string) error {
	if !validID(id) {
		return ErrNotFound
	}
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).Where("id = ? AND NOT deleted", id).
		Updates(map[string]any{"deleted": true, "enabled": false, "status": models.WebhookDisabled,
			"updated_by": by, "updated_at": Now(), "version": bumpVersion()})
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

// ActiveWebhooks returns the tenant's enabled, live webhooks: the candidates
// its events are matched against.
func (s *Store) ActiveWebhooks(ctx context.Context, tenant string) ([]models.Webhook, error) {
	var ws []models.Webhook
	if err := s.db.WithContext(ctx).Where("tenant_id = ? AND enabled AND NOT deleted", tenant).Order("id").Find(&ws).Error; err != nil {
		return nil, err
	}
	return ws, s.openAll(ws)
}

// MatcherVersion returns the tenant's matcher version: it moves whenever a
// webhook of the tenant changes in a way that affects matching (a database
// trigger keeps it, whoever writes). 0 means the tenant never had one.
func (s *Store) MatcherVersion(ctx context.Context, tenant string) (int64, error) {
	var v []int64
	err := s.db.WithContext(ctx).Table("matcher_versions").Where("tenant_id = ?", tenant).Limit(1).Pluck("version", &v).Error
	if err != nil || len(v) == 0 {
		return 0, err
	}
	return v[0], nil
}

// WebhooksByID returns the webhooks with the given ids (any state), by id.
func (s *Store) WebhooksByID(ctx context.Context, ids []string) (map[string]*models.Webhook, error) {
	var ws []models.Webhook
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&ws).Error; err != nil {
		return nil, err
	}
	if err := s.openAll(ws); err != nil {
		return nil, err
	}
	out := make(map[string]*models.Webhook, len(ws))
	for i := range ws {
		out[ws[i].ID] = &ws[i]
	}
	return out, nil
}

// SetPaused pauses or resumes a live webhook and returns it. Resuming puts
// its held deliveries back in the outbox (the starter sends them oldest
// first, at its admission pace) and reports how many.
func (s *Store) SetPaused(ctx context.Context, id string, paused bool, by string) (*models.Webhook, int64, error) {
	if !validID(id) {
		return nil, 0, ErrNotFound
	}
	var released int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := Now()
		fields := map[string]any{"paused": paused, "updated_by": by, "updated_at": now, "version": bumpVersion()}
		if paused {
			fields["paused_at"] = now
		} else {
			fields["paused_at"] = nil
		}
		var before models.Webhook
		if err := tx.Where("id = ?", id).Limit(1).Find(&before).Error; err != nil {
			return err
		}
		autoPaused := !paused && before.AutoPausedReason != ""
		if autoPaused {
			maps.Copy(fields, closedBreaker()) // an operator resumes what the breaker paused
		}
		cond := "id = ? AND NOT deleted AND paused <> ?"
		if paused && before.AutoPausedReason != "" {
			// An operator pauses what the breaker paused: the pause becomes
			// theirs, and no probe's success may resume it. The `disabled`
			// raised stays open, answered by `recovered` after the resume.
			maps.Copy(fields, closedBreaker())
			fields["paused"], fields["paused_at"], fields["status"] = true, now, models.WebhookFailed
			delete(fields, "failing_open")
			cond = "id = ? AND NOT deleted AND (paused <> ? OR auto_paused_reason <> '')"
		}
		res := tx.Model(&models.Webhook{}).Where(cond, id, paused).Updates(fields)
		if res.Error != nil || paused || res.RowsAffected == 0 {
			return res.Error
		}
		var err error
		if released, err = releaseHeld(tx, id); err != nil || !autoPaused {
			return err
		}
		before.Status, before.NextAttempt = models.WebhookActive, nil
		return tx.Create(operationalEvent(&before, EventWebhookRecovered)).Error
	})
	if err != nil {
		return nil, 0, translate(err)
	}
	w, err := s.GetWebhook(ctx, id)
	return w, released, err
}

// OpenDeliveries returns up to limit ids of the webhook's deliveries that a
// workflow may be working on (started, delivering or awaiting a retry), after
// the given id.
func (s *Store) OpenDeliveries(ctx context.Context, webhookID, after string, limit int) ([]string, error) {
	var ids []string
	q := s.db.WithContext(ctx).Model(&models.Delivery{}).Scopes(withOpenRun(webhookID))
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// withOpenRun selects the webhook's deliveries a workflow may be working
// on: delivering, awaiting a retry, or pending and started (a delivery
// still in the outbox has no run).
func withOpenRun(webhookID string) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		return q.Where("webhook_id = ? AND (status IN ? OR (status = ? AND dispatched_at IS NOT NULL))", webhookID,
			[]models.DeliveryStatus{models.DeliveryDelivering, models.DeliveryAwaitingRetry}, models.DeliveryPending)
	}
}

// CancelWaiting marks the webhook's deliveries that no workflow works on
// (waiting in the outbox, or held) cancelled, and returns how many.
func (s *Store) CancelWaiting(ctx context.Context, webhookID string) (int64, error) {
	res := s.db.WithContext(ctx).Model(&models.Delivery{}).
		Where("webhook_id = ? AND (status = ? OR (status = ? AND dispatched_at IS NULL))", webhookID, models.DeliveryHeld, models.DeliveryPending).
		Updates(map[string]any{"status": models.DeliveryCancelled, "waiting_for": "", "updated_at": Now()})
	return res.RowsAffected, res.Error
}

// MatchableWebhooks is ActiveWebhooks with only what matching and delivery
// creation read (no descriptions, templates or secrets): the matcher keeps
// these in memory for every tenant that posts events.
func (s *Store) MatchableWebhooks(ctx context.Context, tenant string) ([]models.Webhook, error) {
	var ws []models.Webhook
	err := s.db.WithContext(ctx).Select("id, tenant_id, enabled, deleted, paused, event_filters, batch_enabled, batch_size, batch_max_wait_ms, "+
		"ordering_key, ordering_on_exhausted").
		Where("tenant_id = ? AND enabled AND NOT deleted", tenant).Order("id").Find(&ws).Error
	return ws, err
}

// bumpVersion adds 0.1 to a webhook's version in SQL, in tenths: adding
// 0.1 to a float again and again would show 0.30000000000000004.
func bumpVersion() clause.Expr { return gorm.Expr("ROUND(version * 10 + 1) / 10") }
