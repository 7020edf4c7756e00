package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/webhookd/webhookd/models"
)

// StatBucket is the width of a webhook_stats bucket.
const StatBucket = 5 * time.Minute

// histogramColumn names the response-time bucket of a duration.
func histogramColumn(ms int64) string {
	for i, bound := range models.StatBucketBoundsMs {
		if ms <= bound {
			return histogramColumns[i]
		}
	}
	return histogramColumns[len(histogramColumns)-1]
}

var histogramColumns = []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11"}

// countAttempt adds one attempt to its webhook's statistics. The upsert
// serialises attempts of one webhook within a bucket, which costs far less
// than reading their attempts back for every stats request.
func countAttempt(tx *gorm.DB, webhookID string, a *models.Attempt) error {
	success := a.ResponseStatus != nil && *a.ResponseStatus >= 200 && *a.ResponseStatus < 300
	row := map[string]any{
		"webhook_id": webhookID, "bucket": a.FinishedAt.UTC().Truncate(StatBucket),
		"attempts": 1, "successes": 0, "duration_ms_sum": a.DurationMs, histogramColumn(a.DurationMs): 1,
	}
	if success {
		row["successes"] = 1
		row["last_success_at"] = a.FinishedAt
	} else {
		row["last_failure_at"] = a.FinishedAt
	}
	col := histogramColumn(a.DurationMs)
	update := map[string]any{
		"attempts":        gorm.Expr("webhook_stats.attempts + 1"),
		"successes":       gorm.Expr("webhook_stats.successes + excluded.successes"),
		"duration_ms_sum": gorm.Expr("webhook_stats.duration_ms_sum + excluded.duration_ms_sum"),
		col:               gorm.Expr("webhook_stats." + col + " + 1"),
		"last_success_at": gorm.Expr(latest("last_success_at")),
		"last_failure_at": gorm.Expr(latest("last_failure_at")),
	}
	return tx.Model(&models.WebhookStat{}).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "webhook_id"}, {Name: "bucket"}},
		DoUpdates: clause.Assignments(update),
	}).Create(row).Error
}

// WebhookStats sums a webhook's statistics from since on.
type WebhookStats struct {
	Attempts, Successes int64
	DurationMsSum       int64
	// Histogram counts response times in the buckets of
	// models.StatBucketBoundsMs (the last one unbounded).
	Histogram                    []int64
	LastSuccessAt, LastFailureAt *time.Time
}

// StatsSince adds up the webhook's buckets from the one holding since. It
// reads at most one row per five minutes of the window, however many
// deliveries the webhook has.
func (s *Store) StatsSince(ctx context.Context, webhookID string, since time.Time) (WebhookStats, error) {
	out := WebhookStats{Histogram: make([]int64, len(histogramColumns))}
	if !validID(webhookID) {
		return out, ErrNotFound
	}
	var rows []models.WebhookStat
	err := statsQuery(s.db.WithContext(ctx), webhookID, since).Find(&rows).Error
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		out.Attempts += r.Attempts
		out.Successes += r.Successes
		out.DurationMsSum += r.DurationMsSum
		for i, n := range []int64{r.H0, r.H1, r.H2, r.H3, r.H4, r.H5, r.H6, r.H7, r.H8, r.H9, r.H10, r.H11} {
			out.Histogram[i] += n
		}
		out.LastSuccessAt = later(out.LastSuccessAt, r.LastSuccessAt)
		out.LastFailureAt = later(out.LastFailureAt, r.LastFailureAt)
	}
	return out, nil
}

func statsQuery(db *gorm.DB, webhookID string, since time.Time) *gorm.DB {
	return db.Model(&models.WebhookStat{}).Where("webhook_id = ? AND bucket >= ?", webhookID, since.UTC().Truncate(StatBucket))
}

func later(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// PurgeStatsBefore removes statistics older than cutoff: webhooks' and
// their filters'.
func (s *Store) PurgeStatsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("bucket < ?", cutoff).Delete(&models.WebhookStat{})
	if res.Error != nil {
		return res.RowsAffected, res.Error
	}
	filters := s.db.WithContext(ctx).Where("bucket < ?", cutoff).Delete(&models.FilterStat{})
	return res.RowsAffected + filters.RowsAffected, filters.Error
}

// latest keeps the later of the stored and the new time (attempts are not
// recorded in time order), ignoring NULL, in SQL both databases speak.
func latest(col string) string {
	return "CASE WHEN webhook_stats." + col + " IS NULL OR excluded." + col + " > webhook_stats." + col +
		" THEN excluded." + col + " ELSE webhook_stats." + col + " END"
}
