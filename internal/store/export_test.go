package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/webhookd/webhookd/models"
	"gorm.io/gorm"
)

// ExplainDeliveries returns PostgreSQL's plan for ListDeliveries(q) with
// sequential scans disabled: if an index can serve the query, the plan
// names it.
func (s *Store) ExplainDeliveries(ctx context.Context, q DeliveryQuery) (string, error) {
	return s.explain(ctx, s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var ds []models.Delivery
		return listDeliveries(tx, q).Find(&ds)
	}))
}

// ExplainEvents returns PostgreSQL's plan for ListEvents(q).
func (s *Store) ExplainEvents(ctx context.Context, q EventQuery) (string, error) {
	return s.explain(ctx, s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var evs []models.Event
		return listEvents(tx, q).Find(&evs)
	}))
}

// ExplainPendingFanout returns PostgreSQL's plan for a page of
// PendingFanoutAfter's events waiting with marker (planned: plans,
// otherwise operational events).
func (s *Store) ExplainPendingFanout(ctx context.Context, planned bool, after *models.Event) (string, error) {
	marker := fanoutPending
	if planned {
		marker = fanoutPlanned
	}
	return s.explain(ctx, s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var evs []models.Event
		return pendingFanoutPage(tx, marker, 100, after).Find(&evs)
	}))
}

// ExplainStats returns the plan of the stats query of StatsSince.
func (s *Store) ExplainStats(ctx context.Context, webhookID string, since time.Time) (string, error) {
	return s.explain(ctx, s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var rows []models.WebhookStat
		return statsQuery(tx, webhookID, since).Find(&rows)
	}))
}

func (s *Store) explain(ctx context.Context, sql string) (string, error) {
	var plan []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		return tx.Raw("EXPLAIN " + sql).Scan(&plan).Error
	})
	return strings.Join(plan, "\n"), err
}

// MigrateTo applies migrations up to and including version, for tests that
// build a database as an earlier release left it.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	p, release, err := s.migrator()
	if err != nil {
		return err
	}
	defer release()
	_, err = p.UpTo(ctx, version)
	return err
}

// Exec runs raw SQL, for tests that write rows as an earlier release did.
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	return s.db.WithContext(ctx).Exec(sql, args...).Error
}

// Raw scans a raw query into dest, for tests that look at columns as
// stored.
func (s *Store) Raw(ctx context.Context, dest any, sql string, args ...any) error {
	return s.db.WithContext(ctx).Raw(sql, args...).Scan(dest).Error
}

// ExplainEventTypes returns PostgreSQL's plan for ListEventTypes(p)'s page.
func (s *Store) ExplainEventTypes(ctx context.Context, p EventTypePage) (string, error) {
	return s.explain(ctx, s.db.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var ts []models.EventType
		return listEventTypes(tx, p).Scan(&ts)
	}))
}

// ExplainWaiting returns PostgreSQL's plans for the looks at a webhook's
// waiting deliveries, by name: WebhookLimiter's count, RateWaiters' list,
// and PickConcurrencyWaiters' look out of line.
func (s *Store) ExplainWaiting(ctx context.Context, webhookID string) (map[string]string, error) {
	plans := map[string]string{}
	for name, q := range map[string]func(tx *gorm.DB) *gorm.DB{
		"count": func(tx *gorm.DB) *gorm.DB {
			var rows []waitingCount
			return countWaiting(tx, webhookID).Scan(&rows)
		},
		"rate waiters": func(tx *gorm.DB) *gorm.DB {
			var ids []string
			return rateWaiters(tx, webhookID).Pluck("id", &ids)
		},
		"out of line": func(tx *gorm.DB) *gorm.DB {
			var ids []string
			return waitingOutOfLine(tx, webhookID).Limit(5).Pluck("id", &ids)
		},
	} {
		plan, err := s.explain(ctx, s.db.ToSQL(q))
		if err != nil {
			return nil, err
		}
		plans[name] = plan
	}
	return plans, nil
}

// ExplainOutboxQueues runs the claim's search for webhooks with waiting
// deliveries under EXPLAIN ANALYZE (PostgreSQL).
func (s *Store) ExplainOutboxQueues(ctx context.Context) (string, error) {
	return s.explainAnalyze(ctx, outboxQueuesSQL, sql.Named("now", Now()))
}

// explainAnalyze returns PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of a
// statement.
func (s *Store) explainAnalyze(ctx context.Context, query string, args ...any) (string, error) {
	var plan []string
	err := s.db.WithContext(ctx).Raw("EXPLAIN (ANALYZE, BUFFERS) "+query, args...).Scan(&plan).Error
	return strings.Join(plan, "\n"), err
}

// ExplainOpenStarts returns the plan of the claim's count of started
// deliveries: PostgreSQL's EXPLAIN (ANALYZE, BUFFERS), SQLite's EXPLAIN
// QUERY PLAN.
func (s *Store) ExplainOpenStarts(ctx context.Context) (string, error) {
	if s.dialect == Postgres {
		return s.explainAnalyze(ctx, openStartsSQL)
	}
	return s.sqlitePlan(ctx, openStartsSQL)
}

// SQLitePlanOfOpenBatches returns SQLite's plan of ingest's search for a
// batching webhook's open batch.
func (s *Store) SQLitePlanOfOpenBatches(ctx context.Context, webhookID string) (string, error) {
	var d models.Delivery
	stmt := openBatches(s.db.Session(&gorm.Session{DryRun: true}), webhookID, Now(), 100).Find(&d).Statement
	return s.sqlitePlan(ctx, stmt.SQL.String(), stmt.Vars...)
}

// SQLitePlanOfInFlightBeside returns SQLite's plan of the claim's check
// that no other delivery of a sequence is in flight.
func (s *Store) SQLitePlanOfInFlightBeside(ctx context.Context) (string, error) {
	return s.sqlitePlan(ctx, `SELECT d.id FROM deliveries d WHERE d.id = 'x'
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE `+inFlightBeside+`)`)
}

// sqlitePlan returns SQLite's EXPLAIN QUERY PLAN of a statement, a line
// per step.
func (s *Store) sqlitePlan(ctx context.Context, sql string, args ...any) (string, error) {
	var steps []struct{ Detail string }
	err := s.db.WithContext(ctx).Raw("EXPLAIN QUERY PLAN "+sql, args...).Scan(&steps).Error
	var plan []string
	for _, st := range steps {
		plan = append(plan, st.Detail)
	}
	return strings.Join(plan, "\n"), err
}

// ColumnCollation returns a PostgreSQL column's collation ("" for the
// database's default).
func (s *Store) ColumnCollation(ctx context.Context, table, column string) (string, error) {
	var collation string
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(collation_name, '') FROM information_schema.columns
		WHERE table_name = ? AND column_name = ?`, table, column).Scan(&collation).Error
	return collation, err
}

// SetWaiterPatience changes how long a concurrency waiter waits before it
// is served in order (0: at once).
func (s *Store) SetWaiterPatience(d time.Duration) { s.waiterPatience = d }

// HoldHealthLock applies r to its webhook's health as RecordAttempt does,
// in a transaction left open until the returned func ends it: the lock a
// health change holds while the rest of RecordAttempt runs.
func (s *Store) HoldHealthLock(ctx context.Context, r AttemptResult) (func() error, error) {
	tx := s.db.WithContext(ctx).Begin()
	if tx.Error != nil {
		return nil, tx.Error
	}
	if err := s.updateWebhookHealth(tx, &r, false); err != nil {
		tx.Rollback()
		return nil, err
	}
	return func() error { return tx.Commit().Error }, nil
}

// MigrateDownTo rolls migrations back to version, for tests of a Down.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	p, release, err := s.migrator()
	if err != nil {
		return err
	}
	defer release()
	_, err = p.DownTo(ctx, version)
	return err
}

// SetListenPing sets how long ListenOutbox waits in silence before it
// pings its connection.
func (s *Store) SetListenPing(d time.Duration) { s.listenPing = d }

// LockRetryable is the migration lock's retry policy (migrate.go).
var LockRetryable = lockRetryable
