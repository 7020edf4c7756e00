package ingest

import (
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/ordering"
	"github.com/webhookd/webhookd/models"
)

// NewDelivery makes a pending one-event delivery of ev to the webhook
// webhookID, waiting in the outbox.
func NewDelivery(ev models.Event, webhookID string, trigger models.Trigger, now time.Time) models.Delivery {
	return models.Delivery{
		ID: newID(), TenantID: ev.TenantID, EventID: ev.ID, WebhookID: webhookID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: trigger, CreatedAt: now, UpdatedAt: now,
	}
}

// deliveryFor makes the one-event delivery of ev to w: waiting in the
// outbox, or held while w is paused.
func deliveryFor(ev models.Event, w *models.Webhook, now time.Time) models.Delivery {
	del := NewDelivery(ev, w.ID, models.TriggerScheduled, now)
	if w.Paused {
		del.Status = models.DeliveryHeld
	}
	if w.OrderingKey != "" {
		// The sequence is fixed now: a later change of webhookConfig.ordering
		// applies to later events (docs/operations.md "Ordered delivery").
		key, at := ordering.Key(w.OrderingKey, ev.Type, ev.Data), ev.Timestamp
		del.SequenceKey, del.SequenceAt = &key, &at
	}
	return del
}

// newID makes a delivery id. Version 7 UUIDs grow with time, which keeps the
// primary-key index append-mostly.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
