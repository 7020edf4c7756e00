package dispatch

import (
	"context"
	"errors"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// Skip settles a failed delivery of an ordered webhook without sending it,
// so that its sequence moves on (docs/operations.md "Ordered delivery"); it stays in the
// dead-letter queue, and may still be replayed.
func (d *Dispatcher) Skip(ctx context.Context, deliveryID string) (*models.Delivery, error) {
	del, err := d.store.SkipInSequence(ctx, deliveryID)
	if errors.Is(err, store.ErrNotSkippable) {
		return nil, &RefusedError{err.Error()}
	}
	if err != nil {
		return nil, err
	}
	d.Wake() // the next delivery of the sequence may start
	return del, nil
}
