// Package activities holds the Temporal activities of webhookd: the side of a
// delivery that talks to the database and to the receiver.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// MaxResponseBody is how much of a receiver's answer an attempt keeps.
const MaxResponseBody = deliver.MaxResponseBody

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
	Store   deliveryLoader
	Client  *http.Client
	Version string
	Now     func() time.Time
	// Metrics, when set, counts attempts and times them.
	Metrics *telemetry.Delivery
}

// Send is registered as the SendWebhookRequest activity.
func (s *Sender) Send(ctx context.Context, in workflows.SendInput) (workflows.SendResult, error) {
	dc, err := s.Store.LoadDelivery(ctx, in.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		// The webhook was hard-deleted and its deliveries with it.
		return workflows.SendResult{Outcome: workflows.OutcomeCancelled}, nil
	}
	if err != nil {
		return workflows.SendResult{}, fmt.Errorf("load delivery: %w", err)
	}
	wh := dc.Webhook
	// A test may probe a disabled or paused webhook; real deliveries stop
	// once their webhook is disabled or deleted, and wait while it is
	// paused.
	if wh.Deleted || (!wh.Enabled && in.Trigger != models.TriggerTest) {
		return workflows.SendResult{Outcome: workflows.OutcomeCancelled}, nil
	}
	if wh.Paused && in.Trigger != models.TriggerTest {
		return workflows.SendResult{Outcome: workflows.OutcomeHeld}, nil
	}
	if err := s.Store.MarkDelivering(ctx, in.DeliveryID); err != nil {
		return workflows.SendResult{}, fmt.Errorf("mark delivering: %w", err)
	}
	poster := deliver.Poster{Client: s.Client, Version: s.Version, Now: s.Now}
	r := deliver.Request{Webhook: &wh, Attempt: in.Attempt, Trigger: in.Trigger, TenantID: dc.Delivery.TenantID}
	if dc.Batch != nil {
		r.Batch, r.BatchID, r.BatchOpened = dc.Batch, dc.Delivery.ID, dc.Delivery.CreatedAt
	} else {
		r.Event = &dc.Event
	}
	res := poster.Post(ctx, r)
	s.observe(dc, res)
	return res, nil
}

// observe feeds the delivery metrics with one attempt (test sends excluded:
// they measure the receiver, not the service).
func (s *Sender) observe(dc *store.DeliveryContext, res workflows.SendResult) {
	a := res.Attempt
	if a == nil || a.Trigger == models.TriggerTest {
		return
	}
	s.Metrics.ObserveAttempt(string(res.Outcome), a.StatusCode, a.FinishedAt.Sub(a.StartedAt))
	if res.Outcome != workflows.OutcomeSuccess {
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
