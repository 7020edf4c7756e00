// Package activities holds the Temporal activities of webhookd: the side of a
// delivery that talks to the database and to the receiver.
package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// deliveryLoader is what Sender needs from the store.
type deliveryLoader interface {
	LoadDelivery(ctx context.Context, id string) (*store.DeliveryContext, error)
	MarkDelivering(ctx context.Context, id string) error
}

// Sender makes one attempt of a delivery: it loads the delivery, checks its
// webhook still wants it, and has internal/deliver build, sign and post the
// request (the README's "The outbound request"). It never retries: the
// workflow owns the schedule.
type Sender struct {
	Store deliveryLoader
	// Poster builds, signs and posts the request (the same one the API's
	// test of an unsaved webhook uses).
	Poster *deliver.Poster
	// Metrics, when set, counts attempts and times them.
	Metrics *telemetry.Delivery
	// Tracer records each attempt in the delivery's trace; the zero
	// Tracer is tracing off.
	Tracer tracing.Tracer
}

// Send is registered as the SendWebhookRequest activity.
func (s *Sender) Send(ctx context.Context, in workflows.SendInput) (attempt.Result, error) {
	dc, err := s.Store.LoadDelivery(ctx, in.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		// The webhook was hard-deleted and its deliveries with it.
		return attempt.Result{Outcome: attempt.Cancelled}, nil
	}
	if err != nil {
		return attempt.Result{}, fmt.Errorf("load delivery: %w", err)
	}
	wh := dc.Webhook
	// A test may probe a disabled or paused webhook; real deliveries stop
	// once their webhook is disabled or deleted, and wait while it is
	// paused.
	if wh.Deleted || (!wh.Enabled && in.Trigger != models.TriggerTest) {
		return attempt.Result{Outcome: attempt.Cancelled}, nil
	}
	probe := wh.Paused && isProbe(&wh, in.DeliveryID)
	if wh.Paused && in.Trigger != models.TriggerTest && !probe {
		return attempt.Result{Outcome: attempt.Held}, nil
	}
	if err := s.Store.MarkDelivering(ctx, in.DeliveryID); err != nil {
		return attempt.Result{}, fmt.Errorf("mark delivering: %w", err)
	}
	r := deliver.Request{Webhook: &wh, Attempt: in.Attempt, Trigger: in.Trigger, TenantID: dc.Delivery.TenantID}
	if dc.Batch != nil {
		r.Batch, r.BatchID, r.BatchOpened = dc.Batch, dc.Delivery.ID, dc.Delivery.CreatedAt
	} else {
		r.Event = &dc.Event
	}
	res := tracedPost(ctx, s.Tracer, dc, in, func(ctx context.Context) attempt.Result { return s.Poster.Post(ctx, r) })
	s.observe(dc, res)
	if probe && res.Outcome == attempt.Failure {
		// A failed probe waits, held, with the webhook's other deliveries;
		// the store schedules the next probe (README "Circuit breaker").
		res.Outcome = attempt.Held
	}
	return res, nil
}

// isProbe reports whether the delivery is the probe of w's open circuit
// breaker: the one delivery sent while it is auto-paused.
func isProbe(w *models.Webhook, deliveryID string) bool {
	return w.AutoPausedReason != "" && w.ProbeDeliveryID != nil && *w.ProbeDeliveryID == deliveryID
}

// observe feeds the delivery metrics with one attempt (test sends excluded:
// they measure the receiver, not the service).
func (s *Sender) observe(dc *store.DeliveryContext, res attempt.Result) {
	a := res.Attempt
	if a == nil || a.Trigger == models.TriggerTest {
		return
	}
	s.Metrics.ObserveAttempt(string(res.Outcome), a.StatusCode, a.FinishedAt.Sub(a.StartedAt))
	if res.Outcome != attempt.Success {
		return
	}
	if dc.Batch == nil {
		s.Metrics.ObserveSuccess(dc.Event.CreatedAt, a.FinishedAt)
		return
	}
	for _, ev := range dc.Batch {
		s.Metrics.ObserveSuccess(ev.CreatedAt, a.FinishedAt)
	}
}
