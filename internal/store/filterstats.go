package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/webhookd/webhookd/models"
)

// FilterCount is what one filter of a webhook did: the events of its types
// it was shown and those it let through.
type FilterCount struct {
	WebhookID string
	// FilterKey names the filter by what it says (filter.Key).
	FilterKey     string
	Seen, Matched int64
}

// AddFilterCounts adds counts made around at to their five-minute buckets,
// in one transaction. Counts of webhooks deleted meanwhile are dropped.
func (s *Store) AddFilterCounts(ctx context.Context, at time.Time, counts []FilterCount) error {
	if len(counts) == 0 {
		return nil
	}
	ids := make([]string, 0, len(counts))
	for _, c := range counts {
		ids = append(ids, c.WebhookID)
	}
	bucket := at.UTC().Truncate(StatBucket)
	return translate(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&models.Webhook{}).Where("id IN ?", ids)
		if s.dialect == Postgres {
			// Holds off a hard delete until the counts are in (SQLite runs
			// one writer at a time).
			q = q.Clauses(clause.Locking{Strength: "KEY SHARE"})
		}
		var live []string
		if err := q.Pluck("id", &live).Error; err != nil {
			return err
		}
		exists := make(map[string]bool, len(live))
		for _, id := range live {
			exists[id] = true
		}
		rows := make([]models.FilterStat, 0, len(counts))
		for _, c := range counts {
			if exists[c.WebhookID] {
				rows = append(rows, models.FilterStat{WebhookID: c.WebhookID, Bucket: bucket, FilterKey: c.FilterKey, Seen: c.Seen, Matched: c.Matched})
			}
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "webhook_id"}, {Name: "bucket"}, {Name: "filter_key"}},
			DoUpdates: clause.Assignments(map[string]any{
				"seen":    gorm.Expr("filter_stats.seen + excluded.seen"),
				"matched": gorm.Expr("filter_stats.matched + excluded.matched"),
			}),
		}).CreateInBatches(rows, 500).Error
	}))
}

// FilterStatsSince adds up a webhook's filter counts from the bucket holding
// since on, one total per filter key.
func (s *Store) FilterStatsSince(ctx context.Context, webhookID string, since time.Time) ([]FilterCount, error) {
	if !validID(webhookID) {
		return nil, ErrNotFound
	}
	var out []FilterCount
	err := s.db.WithContext(ctx).Model(&models.FilterStat{}).
		Select("webhook_id, filter_key, SUM(seen) AS seen, SUM(matched) AS matched").
		Where("webhook_id = ? AND bucket >= ?", webhookID, since.UTC().Truncate(StatBucket)).
		Group("webhook_id, filter_key").Order("filter_key").Scan(&out).Error
	return out, err
}
