package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/webhookd/webhookd/workflows"
)

// stopBudget bounds how long stopping a webhook's deliveries may take in the
// background.
const stopBudget = 5 * time.Minute

// StopDeliveries ends a disabled or deleted webhook's work at once, instead
// of at each delivery's next attempt: deliveries no workflow works on are
// cancelled in the database, and every open workflow is asked to cancel,
// which it handles by recording its delivery `cancelled`. It works in the
// background (a webhook may have thousands of open deliveries); what it
// misses (a crash) still stops at the next attempt, which checks the webhook.
func (d *Dispatcher) StopDeliveries(ctx context.Context, webhookID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
	go func() {
		defer cancel()
		if _, err := d.store.CancelWaiting(ctx, webhookID); err != nil {
			d.log.WarnContext(ctx, "cancel waiting deliveries", "webhook_id", webhookID, "error", err)
		}
		// Their rate slots too: a webhook enabled again must not wait
		// for the slots of deliveries that no longer exist.
		if err := d.store.DropRateReservations(ctx, webhookID, ""); err != nil {
			d.log.WarnContext(ctx, "drop rate reservations", "webhook_id", webhookID, "error", err)
		}
		ids, err := d.openDeliveries(ctx, webhookID)
		if err != nil {
			d.log.WarnContext(ctx, "list open deliveries", "webhook_id", webhookID, "error", err)
			return
		}
		d.CancelWorkflows(ctx, ids)
	}()
}

// HardDelete removes a webhook with its deliveries and ends their open
// workflows. The ids are read before the rows go.
func (d *Dispatcher) HardDelete(ctx context.Context, webhookID string) error {
	ids, err := d.openDeliveries(ctx, webhookID)
	if err != nil {
		return err
	}
	if err := d.store.HardDeleteWebhook(ctx, webhookID); err != nil {
		return err
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
	go func() { defer cancel(); d.CancelWorkflows(bg, ids) }()
	return nil
}

// openDeliveries lists the ids of a webhook's deliveries whose workflow may
// be open, a page at a time.
func (d *Dispatcher) openDeliveries(ctx context.Context, webhookID string) ([]string, error) {
	var ids []string
	for after := ""; ; {
		page, err := d.store.OpenDeliveries(ctx, webhookID, after, 1000)
		if err != nil || len(page) == 0 {
			return ids, err
		}
		ids = append(ids, page...)
		after = page[len(page)-1]
	}
}

// CancelWorkflows asks the workflows of the given deliveries to cancel, a
// few at a time; closed or missing ones are skipped.
func (d *Dispatcher) CancelWorkflows(ctx context.Context, deliveryIDs []string) {
	eachRun(deliveryIDs, func(id string) error {
		err := d.runner.Cancel(ctx, workflows.DeliveryWorkflowID(id))
		if err != nil && !errors.Is(err, ErrNoRun) {
			d.log.WarnContext(ctx, "cancel delivery workflow", "delivery_id", id, "error", err)
		}
		return err
	})
}
