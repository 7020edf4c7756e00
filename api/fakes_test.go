package api_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// fakeTester stands in for dispatch's test sends, which post to the
// webhook's endpoint (the real ones are tested in internal/dispatch and end
// to end): each test succeeds at once.
type fakeTester struct {
	store *store.Store
	mu    sync.Mutex
	calls []string
}

func (f *fakeTester) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// TestUnsaved answers a delivery that succeeded at once; nothing is stored.
func (f *fakeTester) TestUnsaved(_ context.Context, w *models.Webhook, sample *dispatch.Sample) (*models.Delivery, *models.Attempt, error) {
	f.record("test unsaved %s %v", w.Endpoint, sample != nil)
	now := store.Now()
	code := 200
	d := &models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: w.TenantID, EventID: "unsaved", WebhookID: w.ID,
		EventType: "webhookd.test", Status: models.DeliverySucceeded, Trigger: models.TriggerTest, AttemptCount: 1,
		CreatedAt: now, UpdatedAt: now}
	return d, &models.Attempt{Number: 1, Trigger: models.TriggerTest, RequestURL: w.Endpoint, ResponseStatus: &code,
		StartedAt: now, FinishedAt: now}, nil
}

// Test stores a test event with a delivery that succeeded at once.
func (f *fakeTester) Test(ctx context.Context, w *models.Webhook, sample *dispatch.Sample) (*models.Delivery, *models.Attempt, error) {
	f.record("test %s", w.ID)
	now := store.Now()
	ev := models.Event{TenantID: w.TenantID, ID: uuid.Must(uuid.NewV7()).String(), Type: "webhookd.test", IsTest: true,
		Timestamp: now, CreatedAt: now}
	d := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: w.TenantID, EventID: ev.ID, WebhookID: w.ID,
		EventType: ev.Type, Status: models.DeliverySucceeded, Trigger: models.TriggerTest, CreatedAt: now, UpdatedAt: now}
	if _, _, _, err := f.store.IngestEvent(ctx, &ev, []models.Delivery{d}); err != nil {
		return nil, nil, err
	}
	code := 200
	a := &models.Attempt{DeliveryID: d.ID, Number: 1, Trigger: models.TriggerTest, RequestURL: w.Endpoint,
		ResponseStatus: &code, StartedAt: now, FinishedAt: now}
	return &d, a, nil
}

// dispatcher is the real dispatcher, with test sends faked.
type dispatcher struct {
	*dispatch.Dispatcher
	*fakeTester
}

func (d dispatcher) Test(ctx context.Context, w *models.Webhook, s *dispatch.Sample) (*models.Delivery, *models.Attempt, error) {
	return d.fakeTester.Test(ctx, w, s)
}

func (d dispatcher) TestUnsaved(ctx context.Context, w *models.Webhook, s *dispatch.Sample) (*models.Delivery, *models.Attempt, error) {
	return d.fakeTester.TestUnsaved(ctx, w, s)
}

// health answers readiness checks with err.
type health struct{ err error }

func (h health) CheckHealth(context.Context) error { return h.err }

// addJob makes a completed bulk replay of tenant known to Temporal.
func addJob(r *dispatchtest.Runner, jobID, tenant string) {
	wf := workflows.DLQJobWorkflowID(jobID)
	r.SetDescribed(wf, dispatchtest.Described{Status: dispatch.Completed, Memo: map[string]string{"tenantId": tenant}})
	r.SetResult(wf, workflows.DLQProgress{Done: true})
}
