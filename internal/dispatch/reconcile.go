package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// ReconcileBatch bounds how many deliveries one reconcile pass looks at.
const ReconcileBatch = 1000

// OverdueAfter is how late a retry (or an attempt in flight) may be before
// the reconciler suspects its workflow has ended without finishing it.
const OverdueAfter = 10 * time.Minute

// Reconcile restarts the workflow of every delivery that has none: still
// pending after olderThan (the event was accepted but the process died
// between commit and start, or Temporal was unreachable), or overdue by
// OverdueAfter (its workflow failed or was terminated from outside). A
// delivery whose workflow is open is left alone (USE_EXISTING), so running
// this often or from many processes is harmless. It returns how many
// deliveries it looked at.
func (d *Dispatcher) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	now := store.Now()
	if n, err := d.store.ReleaseHeld(ctx, now.Add(-olderThan)); err != nil {
		return 0, fmt.Errorf("held deliveries: %w", err)
	} else if n > 0 {
		d.log.InfoContext(ctx, "released held deliveries of a resumed webhook", "deliveries", n)
	}
	if err := d.startProbes(ctx, now); err != nil {
		return 0, err
	}
	ds, err := d.store.Orphans(ctx, now.Add(-olderThan), now.Add(-OverdueAfter), ReconcileBatch)
	if err != nil {
		return 0, fmt.Errorf("pending deliveries: %w", err)
	}
	hooks := map[string]*models.Webhook{}
	var errs []error
	for _, del := range ds {
		w, ok := hooks[del.WebhookID]
		if !ok {
			if w, err = d.store.GetWebhook(ctx, del.WebhookID); err != nil {
				errs = append(errs, err)
				continue
			}
			hooks[del.WebhookID] = w
		}
		// Read again just before starting: a run that finished the
		// delivery since the list was read must not be followed by another.
		cur, err := d.store.GetDelivery(ctx, del.ID)
		if err != nil || cur.Status != del.Status || cur.AttemptCount != del.AttemptCount || !cur.UpdatedAt.Equal(del.UpdatedAt) {
			continue
		}
		if err := d.start(ctx, *cur, w, startReconcile); err != nil {
			errs = append(errs, err)
		}
	}
	return len(ds), errors.Join(errs...)
}

// restartIfClosed starts del's workflow again if no run of it is open and
// the delivery is as its claim left it (pending, started, nothing recorded
// since): the run its start went to closed without it. open reports a run
// still open: the caller may look again later.
func (d *Dispatcher) restartIfClosed(ctx context.Context, del models.Delivery) (open bool, err error) {
	// The run first: once it is closed its writes are in, so a row as the
	// claim left it means that no run did anything for this start. (Read
	// the other way round, a run that delivered between the two reads
	// would be followed by another, and a second request.)
	desc, err := d.runner.Describe(ctx, workflows.DeliveryWorkflowID(del.ID))
	switch {
	case errors.Is(err, ErrNoRun):
	case err != nil:
		return false, err
	case desc.Status == Running:
		return true, nil
	}
	cur, err := d.store.GetDelivery(ctx, del.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // hard-deleted with its webhook
	}
	if err != nil {
		return false, err
	}
	if cur.Status != models.DeliveryPending || cur.DispatchedAt == nil || del.DispatchedAt == nil ||
		!cur.DispatchedAt.Equal(*del.DispatchedAt) || cur.Starts != del.Starts ||
		cur.AttemptCount != del.AttemptCount || !cur.UpdatedAt.Equal(del.UpdatedAt) {
		return false, nil // it moved on, or went back to the outbox
	}
	wh, err := d.store.GetWebhook(ctx, del.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return false, d.start(ctx, *cur, wh, startResume)
}
