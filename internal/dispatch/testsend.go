package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/catalog"
	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestEventType is the type of a test event when a webhook's filters name no
// concrete type.
const TestEventType = catalog.TypeTest

// Sample is what a test sends instead of the default message: a realistic
// event of a type the webhook subscribes to, written by the caller (never
// another event's data).
type Sample struct {
	EventType string
	Data      json.RawMessage
}

// testEvent is the event a test sends: the sample, or a message naming the
// webhook, of the webhook's first concrete event type.
func testEvent(w *models.Webhook, sample *Sample, now time.Time) models.Event {
	ev := models.Event{
		TenantID: w.TenantID, ID: uuid.Must(uuid.NewV7()).String(), Type: testEventType(w), IsTest: true,
		Timestamp: now, CreatedAt: now,
	}
	ev.Data, _ = json.Marshal(map[string]string{
		"message": "This is a test event from webhookd.", "webhookId": w.ID, "webhookName": w.Name,
	})
	if sample != nil {
		if sample.EventType != "" {
			ev.Type = sample.EventType
		}
		if len(sample.Data) > 0 {
			ev.Data = sample.Data
		}
	}
	return ev
}

// TestUnsaved sends one test event to a webhook that is not stored (OWOX's
// "test the URL before Save"): the request is built, signed and posted
// exactly as a delivery's, through the same address checks, but nothing is
// written and no workflow runs. The delivery it returns exists only in the
// answer.
func (d *Dispatcher) TestUnsaved(ctx context.Context, w *models.Webhook, sample *Sample) (*models.Delivery, *models.Attempt, error) {
	if d.Poster == nil {
		return nil, nil, errors.New("dispatch: no poster to send tests with")
	}
	now := store.Now()
	ev := testEvent(w, sample, now)
	res := d.Poster.Post(ctx, deliver.Request{Webhook: w, Event: &ev, TenantID: w.TenantID, Attempt: 1, Trigger: models.TriggerTest})
	del := ingest.NewDelivery(ev, w.ID, models.TriggerTest, now)
	del.Status, del.AttemptCount = models.DeliveryFailed, 1
	if res.Outcome == attempt.Success {
		del.Status = models.DeliverySucceeded
	}
	a := res.Attempt
	att := a.Row("", "")
	if a.StatusCode != 0 {
		del.LastStatusCode = att.ResponseStatus
	}
	del.LastDurationMs, del.LastError = &a.DurationMs, a.Error
	return &del, att, nil
}

// Test sends a test event (`"isTest": true`) to the webhook now, through the
// same workflow and activity as real deliveries, waits for its single
// attempt and returns it. It never changes the webhook's status.
func (d *Dispatcher) Test(ctx context.Context, w *models.Webhook, sample *Sample) (*models.Delivery, *models.Attempt, error) {
	now := store.Now()
	ev := testEvent(w, sample, now)
	del := ingest.NewDelivery(ev, w.ID, models.TriggerTest, now)
	del.DispatchedAt = &now // started here, not from the outbox: the caller waits for it
	if _, _, _, err := d.store.IngestEvent(ctx, &ev, []models.Delivery{del}); err != nil {
		return nil, nil, fmt.Errorf("store test event: %w", err)
	}
	if err := d.start(ctx, del, w, startNew); err != nil {
		// Nothing will run it: close it rather than leave it pending.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = d.store.RecordAttempt(rctx, store.AttemptResult{DeliveryID: del.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryFailed})
		return nil, nil, err
	}
	wait, cancel := context.WithTimeout(ctx, time.Duration(w.TimeoutSeconds)*time.Second+30*time.Second)
	defer cancel()
	var res workflows.DeliveryResult
	if err := d.runner.Result(wait, workflows.DeliveryWorkflowID(del.ID), &res); err != nil {
		return nil, nil, fmt.Errorf("wait for the test delivery: %w", err)
	}
	got, err := d.store.GetDelivery(ctx, del.ID)
	if err != nil {
		return nil, nil, err
	}
	attempts, err := d.store.Attempts(ctx, del.ID)
	if err != nil || len(attempts) == 0 {
		return got, nil, err
	}
	return got, &attempts[len(attempts)-1], nil
}

// testEventType uses the webhook's first concrete event type, so receivers
// see what a real event of theirs would carry.
func testEventType(w *models.Webhook) string {
	for _, f := range w.EventFilters {
		if f.EventType != "" && !strings.ContainsAny(f.EventType, "*?[") {
			return f.EventType
		}
	}
	return TestEventType
}
