package webhooks

import (
	"github.com/webhookd/webhookd/internal/ordering"
	"github.com/webhookd/webhookd/models"
)

// Ordering opts a webhook in to ordered delivery per key (README "Ordered
// delivery"): Key is a path into the event (data.orderId), "event" or
// "webhook"; OnExhausted is "block" (the default) or "skip".
type Ordering struct {
	Key         string
	OnExhausted string
}

type orderingSettings struct{ key, onExhausted string }

// checkOrdering validates webhookConfig.ordering. Batches are refused with
// it: a batch gathers events by time, not by sequence.
func checkOrdering(o *Ordering, batching bool) (orderingSettings, error) {
	const field = "webhookConfig.ordering"
	if o == nil {
		return orderingSettings{}, nil
	}
	if err := ordering.CheckPath(o.Key); err != nil {
		return orderingSettings{}, invalid(field+".key", "%v", err)
	}
	out := orderingSettings{key: o.Key, onExhausted: ordering.Block}
	switch o.OnExhausted {
	case "", ordering.Block:
	case ordering.Skip:
		out.onExhausted = ordering.Skip
	default:
		return orderingSettings{}, invalid(field+".onExhausted", `"block" or "skip"`)
	}
	if batching {
		return orderingSettings{}, invalid(field, "ordered delivery sends one event per request: turn webhookConfig.batching off")
	}
	return out, nil
}

func (o orderingSettings) applyTo(w *models.Webhook) {
	w.OrderingKey, w.OrderingOnExhausted = o.key, o.onExhausted
}
