package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// ReconcileBatch bounds how many deliveries one reconcile pass looks at.
const ReconcileBatch = 1000

// Reconcile starts the workflow of every delivery still pending after
// olderThan: the event was accepted but its workflow never started (the
// process died between commit and start, or Temporal was unreachable). A
// delivery whose workflow is open is left alone, so running this often or
// from many processes is harmless. It returns how many it looked at.
func (d *Dispatcher) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	ds, err := d.Store.PendingDeliveries(ctx, store.Now().Add(-olderThan), ReconcileBatch)
	if err != nil {
		return 0, fmt.Errorf("pending deliveries: %w", err)
	}
	hooks := map[string]*models.Webhook{}
	var errs []error
	for _, del := range ds {
		w, ok := hooks[del.WebhookID]
		if !ok {
			if w, err = d.Store.GetWebhook(ctx, del.WebhookID); err != nil {
				errs = append(errs, err)
				continue
			}
			hooks[del.WebhookID] = w
		}
		if err := d.start(ctx, del, w, startReconcile, del.AttemptCount+1); err != nil {
			errs = append(errs, err)
		}
	}
	return len(ds), errors.Join(errs...)
}
