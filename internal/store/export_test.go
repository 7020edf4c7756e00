package store

import (
	"context"
	"strings"

	"github.com/webhookd/webhookd/models"
	"gorm.io/gorm"
)

// ExplainDeliveries returns PostgreSQL's plan for ListDeliveries(q) with
// sequential scans disabled: if an index can serve the query, the plan
// names it.
func (s *Store) ExplainDeliveries(ctx context.Context, q DeliveryQuery) (string, error) {
	sql := s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var ds []models.Delivery
		return listDeliveries(tx, q).Find(&ds)
	})
	var plan []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		return tx.Raw("EXPLAIN " + sql).Scan(&plan).Error
	})
	return strings.Join(plan, "\n"), err
}
