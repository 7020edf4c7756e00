package store

import (
	"context"

	"github.com/webhookd/webhookd/models"
)

// Versions are a tenant's change counters, which database triggers move
// whoever makes the change: Webhooks on any change that affects matching
// (MatcherVersion), Catalog on any change to an event type the tenant sees
// (CatalogVersion). A process that caches either compares it with what it
// cached.
type Versions struct {
	Webhooks, Catalog int64
}

// Versions reads both of the tenant's counters in one query: ingest reads
// them for every request, so that a change made through any replica
// applies to the next event.
func (s *Store) Versions(ctx context.Context, tenant string) (Versions, error) {
	var v Versions
	err := s.db.WithContext(ctx).Raw(`SELECT
		COALESCE((SELECT version FROM matcher_versions WHERE tenant_id = ?), 0) AS webhooks,
		COALESCE((SELECT SUM(version) FROM catalog_versions WHERE tenant_id IN (?, ?)), 0) AS catalog`,
		tenant, tenant, models.GlobalTenant).Scan(&v).Error
	return v, err
}
