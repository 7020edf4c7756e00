package activities

import (
	"context"
	"fmt"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

type attemptRecorder interface {
	RecordAttempt(ctx context.Context, r store.AttemptResult) error
}

// deliveryStopper ends a webhook's other deliveries (dispatch.Dispatcher).
type deliveryStopper interface {
	StopDeliveries(ctx context.Context, webhookID string)
}

// Recorder writes attempts and the delivery and webhook state they lead to.
type Recorder struct {
	Store attemptRecorder
	// Stopper, when set, ends the webhook's other deliveries once an
	// attempt disables it (410 Gone), as disabling through the API does:
	// they would otherwise wait out their retries.
	Stopper deliveryStopper
}

// Record is registered as the RecordDeliveryAttempt activity. It is
// idempotent, so Temporal may retry it without any second POST.
func (r *Recorder) Record(ctx context.Context, in workflows.RecordInput) error {
	res := store.AttemptResult{
		DeliveryID: in.DeliveryID, WebhookID: in.WebhookID,
		DeliveryStatus: in.DeliveryStatus, NextAttemptAt: in.NextAttemptAt, WaitingFor: in.WaitingFor, WebhookStatus: in.WebhookStatus,
	}
	if in.Attempt != nil {
		res.Attempt = in.Attempt.Row(in.DeliveryID, in.RunID)
	}
	if err := r.Store.RecordAttempt(ctx, res); err != nil {
		return fmt.Errorf("record attempt %d of delivery %s: %w", numberOf(in.Attempt), in.DeliveryID, err)
	}
	if in.WebhookStatus == models.WebhookDisabled && r.Stopper != nil {
		r.Stopper.StopDeliveries(ctx, in.WebhookID) // idempotent, as a retried Record must be
	}
	return nil
}

func numberOf(a *attempt.Record) int {
	if a == nil {
		return 0
	}
	return a.Number
}
