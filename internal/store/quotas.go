package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// Per-tenant quotas hold across every api replica: they are kept in the
// database, never in one process's memory.

// QuotaError refuses what a tenant's quota does not allow. Its text is
// meant for the client.
type QuotaError struct {
	Tenant string
	// What is "webhooks" (live webhooks per tenant), "kept webhooks" (live
	// and soft-deleted ones, KeptWebhooks(limit)), "event types" (live
	// event types per tenant) or "events" (events per second per tenant).
	What  string
	Limit int
	// RetryAfter is when enough room frees up for the refused request
	// (events only: a webhook count does not go down by itself).
	RetryAfter time.Duration
}

func (e *QuotaError) Error() string {
	switch e.What {
	case "webhooks":
		return fmt.Sprintf("tenant %s has %d live webhooks, its quota (TENANT_MAX_WEBHOOKS); delete one first", e.Tenant, e.Limit)
	case "kept webhooks":
		return fmt.Sprintf("tenant %s keeps %d webhooks, live and deleted, twice its quota (TENANT_MAX_WEBHOOKS): "+
			"remove deleted ones for good (DELETE /api/v1/webhooks/{id}?hardDelete=true, their delivery logs with them) first",
			e.Tenant, e.Limit)
	case "event types":
		return fmt.Sprintf("tenant %s has %d live event types, its quota (TENANT_MAX_EVENT_TYPES); delete one first", e.Tenant, e.Limit)
	}
	return fmt.Sprintf("tenant %s is over its quota of %d events per second (TENANT_EVENTS_PER_SECOND); retry after %s",
		e.Tenant, e.Limit, e.RetryAfter.Round(time.Millisecond))
}

// KeptWebhooks is how many webhooks a tenant with a quota of limit live
// ones may keep, live and soft-deleted together. A soft delete keeps the
// row (and its delivery log) until a hard delete, so counting live ones
// only would let a create/delete loop grow the table without bound.
func KeptWebhooks(limit int) int { return 2 * limit }

// CreateWebhookWithin is CreateWebhook, refused with a *QuotaError when the
// tenant already has limit live webhooks, or KeptWebhooks(limit) live and
// soft-deleted ones (0: no limit). The count and the insert are one
// transaction, serialised per tenant, so replicas creating at once cannot
// pass the limit together.
func (s *Store) CreateWebhookWithin(ctx context.Context, w *models.Webhook, limit int) error {
	if limit <= 0 {
		return s.CreateWebhook(ctx, w)
	}
	if w.TenantID == "" {
		w.TenantID = models.DefaultTenant
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			// SQLite's write transactions are serialised already.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext(?))", "webhooks/"+w.TenantID).Error; err != nil {
				return err
			}
		}
		var n struct{ Live, Kept int64 }
		if err := tx.Model(&models.Webhook{}).Select("COALESCE(SUM(CASE WHEN deleted THEN 0 ELSE 1 END), 0) AS live, COUNT(*) AS kept").
			Where("tenant_id = ?", w.TenantID).Scan(&n).Error; err != nil {
			return err
		}
		switch {
		case n.Live >= int64(limit):
			return &QuotaError{Tenant: w.TenantID, What: "webhooks", Limit: limit}
		case n.Kept >= int64(KeptWebhooks(limit)):
			return &QuotaError{Tenant: w.TenantID, What: "kept webhooks", Limit: KeptWebhooks(limit)}
		}
		return s.createWebhook(tx, w)
	})
}

// EventBurst is what a tenant may post at once under TakeEvents: one
// second's worth of its rate, and never less than a full batch.
func EventBurst(perSecond int) int { return max(perSecond, 500) }

// TakeEvents admits n events of tenant under a quota of perSecond events
// per second on average (GCRA, one row per tenant), up to EventBurst at
// once; otherwise it is a *QuotaError saying when they would fit. The row's
// update commits without waiting for the disk: a counter lost in a crash
// only forgives a second of events, and concurrent requests of one tenant
// do not queue behind each other's WAL flush (the row stays locked until
// its commit).
func (s *Store) TakeEvents(ctx context.Context, tenant string, n, perSecond int) error {
	if perSecond <= 0 || n <= 0 {
		return nil
	}
	interval := int64(time.Second/time.Microsecond) / int64(perSecond) // µs per event
	tolerance := interval * int64(EventBurst(perSecond))
	cost := interval * int64(n)
	now := Now().UnixMicro()
	refuse := func(tat int64) error {
		wait := max(tat, now) + cost - (now + tolerance)
		return &QuotaError{Tenant: tenant, What: "events", Limit: perSecond, RetryAfter: time.Duration(max(wait, 1)) * time.Microsecond}
	}
	if cost > tolerance {
		return refuse(now) // more than a burst: it never fits at once
	}
	// Insert the tenant's first row, or move its theoretical arrival time
	// on, only while it stays within the tolerance. On PostgreSQL the
	// statement is its own transaction and turns synchronous_commit off
	// for it (set_config, local to that transaction): one round trip.
	from := ""
	if s.dialect == Postgres {
		from = " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS quiet"
	}
	var admitted []int64
	err := s.db.WithContext(ctx).Raw(`INSERT INTO tenant_event_rates (tenant_id, tat) SELECT ?, ?`+from+` WHERE true
ON CONFLICT (tenant_id) DO UPDATE SET tat = (CASE WHEN tenant_event_rates.tat > ? THEN tenant_event_rates.tat ELSE ? END) + ?
WHERE (CASE WHEN tenant_event_rates.tat > ? THEN tenant_event_rates.tat ELSE ? END) + ? <= ?
RETURNING tat`, tenant, now+cost, now, now, cost, now, now, cost, now+tolerance).Scan(&admitted).Error
	if err != nil {
		return err
	}
	if len(admitted) > 0 {
		return nil
	}
	var tat []int64
	if err := s.db.WithContext(ctx).Table("tenant_event_rates").Where("tenant_id = ?", tenant).Limit(1).Pluck("tat", &tat).Error; err != nil {
		return err
	}
	if len(tat) == 0 {
		return refuse(now)
	}
	return refuse(tat[0])
}
