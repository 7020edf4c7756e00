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
	// stored, and this is the first ingestion's answer.
	Created bool
}

// Ingest accepts one event; see IngestMany.
func (d *Dispatcher) Ingest(ctx context.Context, ev models.Event) (Ingested, error) {
	res, err := d.IngestMany(ctx, []models.Event{ev})
	if err != nil {
		return Ingested{}, err
	}
	return res[0], nil
}

// IngestMany matches each event against its tenant's webhooks and stores the
// events and their deliveries in one transaction, then wakes the starter. It
// never waits on Temporal: once it returns, the events are durable and the
// starter (of this process, or of any other) starts their workflows.
func (d *Dispatcher) IngestMany(ctx context.Context, evs []models.Event) ([]Ingested, error) {
	now := store.Now()
	ins := make([]store.Ingestion, len(evs))
	for i := range evs {
		ev := &evs[i]
		if ev.TenantID == "" {
			ev.TenantID = models.DefaultTenant
		}
		fev, err := filter.ParseEvent(ev.Type, ev.EntityType, ev.Entity, ev.ChangeDescription)
		if err != nil {
			return nil, err
		}
		hooks, err := d.Matcher.Match(ctx, ev.TenantID, fev)
		if err != nil {
			return nil, fmt.Errorf("match webhooks: %w", err)
		}
		ev.CreatedAt = now
		in := store.Ingestion{Event: ev}
		for _, w := range hooks {
			// A paused webhook's batches form as usual; their workflows
			// hold them at the first attempt.
			if w.BatchEnabled {
				in.Batches = append(in.Batches, store.BatchTarget{
					WebhookID: w.ID, MaxEvents: w.BatchSize, MaxWait: time.Duration(w.BatchMaxWaitMs) * time.Millisecond,
					NewID: newID(),
				})
				continue
			}
			in.Deliveries = append(in.Deliveries, d.deliveryFor(*ev, w, now))
		}
		ins[i] = in
	}
	stored, err := d.Store.IngestEvents(ctx, ins)
	if err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	out := make([]Ingested, len(stored))
	for i, s := range stored {
		out[i] = Ingested{Event: *s.Event, Deliveries: s.Deliveries, Created: s.Created}
		for _, del := range s.Deliveries {
			if del.BatchClosesAt != nil && d.Starter != nil {
				d.Starter.WakeAt(*del.BatchClosesAt)
			}
		}
	}
	if d.Starter != nil {
		d.Starter.Wake()
	}
	return out, nil
}

// newID makes a delivery id. Version 7 UUIDs grow with time, which keeps the
// primary-key index append-mostly.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newDelivery makes a pending one-event delivery, waiting in the outbox.
func newDelivery(ev models.Event, webhookID string, trigger models.Trigger, now time.Time) models.Delivery {
	return models.Delivery{
		ID: newID(), TenantID: ev.TenantID, EventID: ev.ID, WebhookID: webhookID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: trigger, CreatedAt: now, UpdatedAt: now,
	}
}
