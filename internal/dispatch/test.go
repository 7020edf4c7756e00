package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestEventType is the type of a test event when a webhook's filters name no
// concrete type.
const TestEventType = "webhookd.test"

// Test sends a test event (`"isTest": true`) to the webhook now, through the
// same workflow and activity as real deliveries, waits for its single
// attempt and returns it. It never changes the webhook's status.
func (d *Dispatcher) Test(ctx context.Context, w *models.Webhook) (*models.Delivery, *models.Attempt, error) {
	now := store.Now()
	data, _ := json.Marshal(map[string]string{
		"message": "This is a test event from webhookd.", "webhookId": w.ID, "webhookName": w.Name,
	})
	ev := models.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Type: testEventType(w), IsTest: true,
		Data: data, Timestamp: now, CreatedAt: now,
	}
	del := newDelivery(ev, w.ID, models.TriggerTest, now)
	if _, _, _, err := d.Store.IngestEvent(ctx, &ev, []models.Delivery{del}); err != nil {
		return nil, nil, fmt.Errorf("store test event: %w", err)
	}
	if err := d.start(ctx, del, w, startNew, 1); err != nil {
		return nil, nil, err
	}
	wait, cancel := context.WithTimeout(ctx, time.Duration(w.TimeoutSeconds)*time.Second+30*time.Second)
	defer cancel()
	var res workflows.DeliveryResult
	if err := d.Temporal.GetWorkflow(wait, workflows.DeliveryWorkflowID(del.ID), "").Get(wait, &res); err != nil {
		return nil, nil, fmt.Errorf("wait for the test delivery: %w", err)
	}
	got, err := d.Store.GetDelivery(ctx, del.ID)
	if err != nil {
		return nil, nil, err
	}
	attempts, err := d.Store.Attempts(ctx, del.ID)
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
