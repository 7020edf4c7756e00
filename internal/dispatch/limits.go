package dispatch

import (
	"context"

	"github.com/webhookd/webhookd/workflows"
)

// WakeRateWaiters tells the deliveries waiting for a rate slot of a webhook
// whose rateLimit was raised or removed to ask again now: each sleeps on a
// durable timer until the slot the old rate gave it, and the edit brought
// that slot nearer (store.UpdateWebhook moves the reserved slots). It works
// in the background, as StopDeliveries does; a waiter it misses (a crash,
// or one that reserved its slot just after the list was read) still asks
// at its old slot's time, no later than before the edit.
func (d *Dispatcher) WakeRateWaiters(ctx context.Context, webhookID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
	go func() {
		defer cancel()
		ids, err := d.store.RateWaiters(ctx, webhookID)
		if err != nil {
			d.log.WarnContext(ctx, "list rate waiters", "webhook_id", webhookID, "error", err)
			return
		}
		_, errs := eachRun(ids, func(id string) error {
			return d.runner.Signal(ctx, workflows.DeliveryWorkflowID(id), workflows.LimitsChangedSignal)
		})
		// One line per edit, not per waiter: with Temporal down there
		// may be thousands.
		if len(errs) > 0 {
			d.log.WarnContext(ctx, "wake rate waiters", "webhook_id", webhookID, "failed", len(errs), "of", len(ids), "error", errs[0])
		}
	}()
}

// WakeWaiter tells one delivery waiting for a limit to ask again now: a
// request of its webhook ended and freed the concurrency slot it waits
// for (store.ReleaseSlot picks it).
func (d *Dispatcher) WakeWaiter(ctx context.Context, deliveryID string) error {
	return d.runner.Signal(ctx, workflows.DeliveryWorkflowID(deliveryID), workflows.LimitsChangedSignal)
}
