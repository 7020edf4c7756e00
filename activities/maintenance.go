package activities

import (
	"context"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/workflows"
)

type reconciler interface {
	Reconcile(ctx context.Context, olderThan time.Duration) (int, error)
}

type purger interface {
	PurgeBefore(ctx context.Context, cutoff time.Time) (store.PurgeResult, error)
	PurgeStatsBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// statsKept covers the longest stats window (30 days), whatever
// RETENTION_DAYS keeps of the delivery logs.
const statsKept = 31 * 24 * time.Hour

// Maintenance holds the activities the maintenance schedules run.
type Maintenance struct {
	Dispatcher    reconciler
	Store         purger
	RetentionDays int
}

// StartMissing is registered as StartMissingDeliveryWorkflows.
func (m *Maintenance) StartMissing(ctx context.Context, olderThan time.Duration) (int, error) {
	return m.Dispatcher.Reconcile(ctx, olderThan)
}

// Purge is registered as DeleteExpiredDeliveryLogs: it removes events,
// deliveries and attempts older than the retention period, never a delivery
// still in progress.
func (m *Maintenance) Purge(ctx context.Context) (workflows.RetentionResult, error) {
	now := store.Now()
	r, err := m.Store.PurgeBefore(ctx, now.Add(-time.Duration(m.RetentionDays)*24*time.Hour))
	if err != nil {
		return workflows.RetentionResult{}, err
	}
	stats, err := m.Store.PurgeStatsBefore(ctx, now.Add(-statsKept))
	return workflows.RetentionResult{Events: r.Events, Deliveries: r.Deliveries, Attempts: r.Attempts, StatBuckets: stats}, err
}
