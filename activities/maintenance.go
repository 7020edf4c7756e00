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
}

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
	cutoff := store.Now().Add(-time.Duration(m.RetentionDays) * 24 * time.Hour)
	r, err := m.Store.PurgeBefore(ctx, cutoff)
	return workflows.RetentionResult{Events: r.Events, Deliveries: r.Deliveries, Attempts: r.Attempts}, err
}
