package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// RefusedError says why a replay would be meaningless (the API answers 409).
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// Replay restarts a delivery's workflow: same workflow id, a new run whose
// attempts are recorded with trigger `replay` and continue the numbering. A
// run still open is terminated first, with a reason the Web UI shows.
func (d *Dispatcher) Replay(ctx context.Context, deliveryID string) (*models.Delivery, error) {
	dc, err := d.store.LoadDelivery(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	switch {
	case dc.Webhook.Deleted:
		return nil, &RefusedError{fmt.Sprintf("webhook %q was deleted; its deliveries cannot be replayed", dc.Webhook.Name)}
	case !dc.Webhook.Enabled:
		return nil, &RefusedError{fmt.Sprintf("webhook %q is disabled; enable it before replaying its deliveries", dc.Webhook.Name)}
	case dc.Delivery.Trigger == models.TriggerTest:
		return nil, &RefusedError{"test deliveries are not replayed; send a new test instead"}
	}
	// The row first: if anything below fails, a pending delivery is what the
	// reconciler restarts, whereas a terminated run with a stale row would
	// be lost.
	del, err := d.store.ResetForReplay(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	if isOpen(dc.Delivery.Status) {
		// For the reason the Web UI shows. If this fails, the start below
		// ends the open run anyway (TERMINATE_EXISTING).
		err = d.runner.Terminate(ctx, workflows.DeliveryWorkflowID(deliveryID), "replayed through the webhookd API")
		if err != nil && !errors.Is(err, ErrNoRun) {
			d.log.WarnContext(ctx, "terminate before replay", "delivery_id", deliveryID, "error", err)
		}
	}
	if del.SequenceKey != nil {
		// Back in its sequence's place in the outbox (ResetForReplay): the
		// starter sends it in order.
		d.Wake()
		return del, nil
	}
	if err := d.start(ctx, *del, &dc.Webhook, startReplay); err != nil {
		// Accepted all the same: back in the outbox, the starter starts
		// it once Temporal answers.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := d.store.ReleaseClaims(rctx, []string{del.ID}); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		d.log.WarnContext(ctx, "replay start failed; the starter will retry it", "delivery_id", del.ID, "error", err)
		d.Wake()
	}
	return del, nil
}

// isOpen reports whether a delivery's workflow may still be running. Closed
// ones need no terminate call (the start would end any stray run anyway).
func isOpen(s models.DeliveryStatus) bool {
	switch s {
	case models.DeliverySucceeded, models.DeliveryFailed, models.DeliveryCancelled:
		return false
	}
	return true
}
