package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

type replayer interface {
	Replay(ctx context.Context, deliveryID string) (*models.Delivery, error)
}

type deliveryLister interface {
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]models.Delivery, error)
}

// DeadLetters replays pages of the dead-letter queue for bulk replay jobs.
type DeadLetters struct {
	Dispatcher replayer
	Store      deliveryLister
}

// ReplayPage is registered as ReplayDeadLetterPage. Each entry is replayed
// through the same path as a single replay; refusals are counted, not fatal.
func (d *DeadLetters) ReplayPage(ctx context.Context, in workflows.DLQPageInput) (workflows.DLQPageResult, error) {
	f := in.Filter
	q := store.DeadLetters(store.DeliveryQuery{TenantID: f.TenantID, WebhookID: f.WebhookID, EventType: f.EventType, Since: f.Since, Until: f.Until})
	q.Limit = in.PageSize
	if in.Cursor != nil {
		q.AfterCreated, q.AfterID = in.Cursor.CreatedAt, in.Cursor.ID
	}
	ds, err := d.Store.ListDeliveries(ctx, q)
	if err != nil {
		return workflows.DLQPageResult{}, fmt.Errorf("list dead letters: %w", err)
	}
	var res workflows.DLQPageResult
	for _, del := range ds {
		_, err := d.Dispatcher.Replay(ctx, del.ID)
		var refused *dispatch.RefusedError
		switch {
		case err == nil:
			res.Replayed++
		case errors.As(err, &refused), errors.Is(err, store.ErrNotFound):
			res.Skipped++
		default:
			res.Skipped++
			res.Errors = append(res.Errors, fmt.Sprintf("delivery %s: %v", del.ID, err))
		}
	}
	if len(ds) == in.PageSize {
		last := ds[len(ds)-1]
		res.Next = &workflows.DLQCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return res, nil
}
