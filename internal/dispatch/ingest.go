package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// Ingested is the answer to an ingested event.
type Ingested struct {
	Event      models.Event
	Deliveries []models.Delivery
	// Created is false when the event id was seen before: nothing new was
	// stored or started, and this is the first ingestion's answer.
	Created bool
}

// Ingest stores ev and one delivery per matching webhook in one transaction,
// then starts their workflows. Once Ingest returns without error the event
// is durable: a workflow that failed to start (or a process that died before
// starting it) is started by Reconcile.
func (d *Dispatcher) Ingest(ctx context.Context, ev models.Event) (Ingested, error) {
	fev, err := filter.ParseEvent(ev.Type, ev.EntityType, ev.Entity, ev.ChangeDescription)
	if err != nil {
		return Ingested{}, err
	}
	hooks, err := d.Store.ActiveWebhooks(ctx)
	if err != nil {
		return Ingested{}, fmt.Errorf("load webhooks: %w", err)
	}
	now := store.Now()
	ev.CreatedAt = now
	byID := make(map[string]*models.Webhook)
	var ds []models.Delivery
	for i := range hooks {
		w := &hooks[i]
		if !filter.Matches(w.EventFilters, fev) {
			continue
		}
		byID[w.ID] = w
		ds = append(ds, newDelivery(ev, w.ID, models.TriggerScheduled, now))
	}
	stored, ds, created, err := d.Store.IngestEvent(ctx, &ev, ds)
	if err != nil {
		return Ingested{}, fmt.Errorf("store event: %w", err)
	}
	out := Ingested{Event: *stored, Deliveries: ds, Created: created}
	if !created {
		return out, nil
	}
	if err := d.startAll(ctx, ds, byID); err != nil {
		// Accepted anyway: the deliveries are stored and the reconciler
		// starts whatever did not start here.
		d.Logger.WarnContext(ctx, "some delivery workflows did not start; the reconciler will start them",
			"event_id", ev.ID, "error", err)
	}
	return out, nil
}

// newDelivery makes a pending delivery. Version 7 UUIDs grow with time, which
// keeps the primary-key index append-mostly.
func newDelivery(ev models.Event, webhookID string, trigger models.Trigger, now time.Time) models.Delivery {
	return models.Delivery{
		ID: uuid.Must(uuid.NewV7()).String(), EventID: ev.ID, WebhookID: webhookID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: trigger, CreatedAt: now, UpdatedAt: now,
	}
}
