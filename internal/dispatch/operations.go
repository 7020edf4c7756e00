package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// Pause makes a webhook keep its events: new deliveries are held, and
// deliveries in progress hold at their next attempt.
func (d *Dispatcher) Pause(ctx context.Context, webhookID, by string) (*models.Webhook, error) {
	w, _, err := d.Store.SetPaused(ctx, webhookID, true, by)
	if err != nil {
		return nil, err
	}
	d.Matcher.Invalidate(w.TenantID)
	return w, nil
}

// Resume sends a paused webhook's events again: its held deliveries go back
// to the outbox, and the starter sends them oldest first at its admission
// pace. It reports how many were released.
func (d *Dispatcher) Resume(ctx context.Context, webhookID, by string) (*models.Webhook, int64, error) {
	w, released, err := d.Store.SetPaused(ctx, webhookID, false, by)
	if err != nil {
		return nil, 0, err
	}
	d.Matcher.Invalidate(w.TenantID)
	if d.Starter != nil {
		d.Starter.Wake()
	}
	return w, released, nil
}

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
		if _, err := d.Store.CancelWaiting(ctx, webhookID); err != nil {
			d.Logger.WarnContext(ctx, "cancel waiting deliveries", "webhook_id", webhookID, "error", err)
		}
		var ids []string
		for after := ""; ; {
			page, err := d.Store.OpenDeliveries(ctx, webhookID, after, 1000)
			if err != nil {
				d.Logger.WarnContext(ctx, "list open deliveries", "webhook_id", webhookID, "error", err)
				return
			}
			if len(page) == 0 {
				break
			}
			ids = append(ids, page...)
			after = page[len(page)-1]
		}
		d.CancelWorkflows(ctx, ids)
	}()
}

// HardDelete removes a webhook with its deliveries and ends their open
// workflows. The ids are read before the rows go.
func (d *Dispatcher) HardDelete(ctx context.Context, w *models.Webhook) error {
	var ids []string
	for after := ""; ; {
		page, err := d.Store.OpenDeliveries(ctx, w.ID, after, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		ids = append(ids, page...)
		after = page[len(page)-1]
	}
	if err := d.Store.HardDeleteWebhook(ctx, w.ID); err != nil {
		return err
	}
	d.Matcher.Invalidate(w.TenantID)
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
	go func() { defer cancel(); d.CancelWorkflows(bg, ids) }()
	return nil
}

// CancelWorkflows asks the workflows of the given deliveries to cancel, a
// few at a time; closed or missing ones are skipped.
func (d *Dispatcher) CancelWorkflows(ctx context.Context, deliveryIDs []string) {
	sem := make(chan struct{}, startParallelism)
	for _, id := range deliveryIDs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			err := d.Temporal.CancelWorkflow(ctx, workflows.DeliveryWorkflowID(id), "")
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				d.Logger.WarnContext(ctx, "cancel delivery workflow", "delivery_id", id, "error", err)
			}
		}()
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
}

// fanOut stores the deliveries of operational events waiting for them: the
// tenant's webhooks whose filters match, except the webhook the event is
// about. Run by the starter, so that every api replica helps.
func (d *Dispatcher) fanOut(ctx context.Context) (int, error) {
	evs, err := d.Store.PendingFanout(ctx, 100)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	done := 0
	for i := range evs {
		ev := &evs[i]
		fev, err := filter.ParseEvent(ev.Type, ev.EntityType, ev.Entity, ev.ChangeDescription)
		if err != nil {
			return done, fmt.Errorf("operational event %s: %w", ev.ID, err)
		}
		hooks, err := d.Matcher.Match(ctx, ev.TenantID, fev)
		if err != nil {
			return done, err
		}
		now := store.Now()
		var ds []models.Delivery
		for _, w := range hooks {
			if ev.SourceWebhookID != nil && w.ID == *ev.SourceWebhookID {
				continue // never about itself
			}
			ds = append(ds, d.deliveryFor(*ev, w, now))
		}
		ok, err := d.Store.CompleteFanout(ctx, ev, ds)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// deliveryFor makes the one-event delivery of ev to w: waiting in the outbox,
// or held while w is paused.
func (d *Dispatcher) deliveryFor(ev models.Event, w *models.Webhook, now time.Time) models.Delivery {
	del := newDelivery(ev, w.ID, models.TriggerScheduled, now)
	if w.Paused {
		del.Status = models.DeliveryHeld
	}
	return del
}
