package store

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// TenantSummary is one tenant with its counts.
type TenantSummary struct {
	TenantID string
	// Webhooks counts live webhooks; DeletedWebhooks soft-deleted ones.
	Webhooks        int64
	DeletedWebhooks int64
	Deliveries      map[models.DeliveryStatus]int64
}

// ListTenants returns up to limit tenants after the given id, in id order,
// with their counts: every tenant that has webhooks or events.
func (s *Store) ListTenants(ctx context.Context, after string, limit int) ([]TenantSummary, error) {
	db := s.db.WithContext(ctx)
	ids, err := s.tenantIDs(ctx, after, limit)
	if err != nil || len(ids) == 0 {
		return []TenantSummary{}, err
	}
	var rows []struct {
		TenantID string
		Deleted  bool
		N        int64
	}
	err = db.Model(&models.Webhook{}).Select("tenant_id, deleted, count(*) AS n").
		Where("tenant_id IN ?", ids).Group("tenant_id, deleted").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]TenantSummary, len(ids))
	index := map[string]int{}
	for i, id := range ids {
		out[i] = TenantSummary{TenantID: id, Deliveries: map[models.DeliveryStatus]int64{}}
		index[id] = i
	}
	for _, r := range rows {
		i := index[r.TenantID]
		if r.Deleted {
			out[i].DeletedWebhooks += r.N
		} else {
			out[i].Webhooks += r.N
		}
	}
	var counts []struct {
		TenantID string
		Status   models.DeliveryStatus
		N        int64
	}
	// Served by deliveries_tenant_status without reading the table.
	err = db.Model(&models.Delivery{}).Select("tenant_id, status, count(*) AS n").
		Where("tenant_id IN ?", ids).Group("tenant_id, status").Scan(&counts).Error
	if err != nil {
		return nil, err
	}
	for _, c := range counts {
		out[index[c.TenantID]].Deliveries[c.Status] = c.N
	}
	return out, nil
}

// tenantIDs returns up to limit distinct tenant ids after the given one,
// from webhooks and events. Each table is walked by its tenant-led index one
// distinct value at a time (a loose index scan), so the cost follows the
// number of tenants, not of events.
func (s *Store) tenantIDs(ctx context.Context, after string, limit int) ([]string, error) {
	seen := map[string]bool{}
	var all []string
	for _, table := range []string{"webhooks", "events"} {
		var ids []string
		err := s.db.WithContext(ctx).Raw(`WITH RECURSIVE t(tenant_id, n) AS (
			SELECT (SELECT min(tenant_id) FROM `+table+` WHERE tenant_id > ?), 1
			UNION ALL
			SELECT (SELECT min(tenant_id) FROM `+table+` WHERE tenant_id > t.tenant_id), n + 1
			FROM t WHERE t.tenant_id IS NOT NULL AND n < ?
		) SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL`, after, limit).Scan(&ids).Error
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				all = append(all, id)
			}
		}
	}
	slices.Sort(all)
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// TenantExists reports whether anything is stored for the tenant.
func (s *Store) TenantExists(ctx context.Context, tenant string) (bool, error) {
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&models.Webhook{}).Where("tenant_id = ?", tenant).Limit(1).Count(&n).Error; err != nil || n > 0 {
		return n > 0, err
	}
	err := db.Model(&models.Event{}).Where("tenant_id = ?", tenant).Limit(1).Count(&n).Error
	return n > 0, err
}

// DisableTenantWebhooks soft-deletes every live webhook of the tenant, so
// that no new delivery matches them and attempts in flight stop at their
// next check.
func (s *Store) DisableTenantWebhooks(ctx context.Context, tenant string) error {
	return s.db.WithContext(ctx).Model(&models.Webhook{}).Where("tenant_id = ? AND NOT deleted", tenant).
		Updates(map[string]any{"deleted": true, "enabled": false, "status": models.WebhookDisabled,
			"updated_by": "tenant deletion", "updated_at": Now(), "version": bumpVersion()}).Error
}

// OpenDeliveryIDs returns up to limit ids of the tenant's deliveries whose
// workflow may still run, after the given id (in id order).
func (s *Store) OpenDeliveryIDs(ctx context.Context, tenant, after string, limit int) ([]string, error) {
	var ids []string
	q := s.db.WithContext(ctx).Model(&models.Delivery{}).Where("tenant_id = ? AND status IN ?", tenant, inProgress)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// TenantPurge counts what DeleteTenantData removed.
type TenantPurge struct {
	Webhooks, Events, Deliveries, Attempts, EventTypes int64
}

const tenantDeleteBatch = 1000

// DeleteTenantData removes every row of the tenant: attempts, deliveries,
// events, webhooks and event types (never the global ones), in batches so that a large tenant does not hold one
// huge transaction.
func (s *Store) DeleteTenantData(ctx context.Context, tenant string) (TenantPurge, error) {
	var total TenantPurge
	db := s.db.WithContext(ctx)
	for {
		var ids []string
		if err := db.Model(&models.Delivery{}).Where("tenant_id = ?", tenant).Limit(tenantDeleteBatch).Pluck("id", &ids).Error; err != nil {
			return total, err
		}
		if len(ids) == 0 {
			break
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			res := tx.Where("delivery_id IN ?", ids).Delete(&models.Attempt{})
			if res.Error != nil {
				return res.Error
			}
			total.Attempts += res.RowsAffected
			res = tx.Where("id IN ?", ids).Delete(&models.Delivery{})
			total.Deliveries += res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, err
		}
	}
	for {
		// Row values, not `id IN`: event ids repeat across tenants.
		var keys []eventKey
		if err := db.Model(&models.Event{}).Select("tenant_id, id").Where("tenant_id = ?", tenant).
			Limit(tenantDeleteBatch).Scan(&keys).Error; err != nil {
			return total, err
		}
		if len(keys) == 0 {
			break
		}
		res := db.Where("(tenant_id, id) IN ?", keyList(keys)).Delete(&models.Event{})
		if res.Error != nil {
			return total, res.Error
		}
		total.Events += res.RowsAffected
	}
	res := db.Where("tenant_id = ?", tenant).Delete(&models.Webhook{})
	total.Webhooks = res.RowsAffected
	if res.Error != nil || tenant == models.GlobalTenant {
		return total, res.Error
	}
	res = db.Where("tenant_id = ?", tenant).Delete(&models.EventType{})
	total.EventTypes = res.RowsAffected
	return total, res.Error
}
