package api_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// fakeDispatcher stands in for internal/dispatch at the API's boundary: it
// does what the API needs to observe through the store, without Temporal.
// The real dispatcher is tested end to end in cmd/webhookd.
type fakeDispatcher struct {
	store *store.Store
	mu    sync.Mutex
	jobs  map[string]dispatch.DLQFilter
	calls []string
	// temporalErr is what CheckHealth (Temporal's readiness) answers.
	temporalErr error
}

func newFakeDispatcher(s *store.Store) *fakeDispatcher {
	return &fakeDispatcher{store: s, jobs: map[string]dispatch.DLQFilter{}}
}

func (f *fakeDispatcher) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// Ingest stores the event with one delivery per matching webhook of its
// tenant (the real dispatcher's matcher and outbox are tested in
// internal/dispatch and end to end).
func (f *fakeDispatcher) Ingest(ctx context.Context, ev models.Event) (ingest.Ingested, error) {
	f.record("ingest %s/%s", ev.TenantID, ev.ID)
	hooks, err := f.store.ActiveWebhooks(ctx, ev.TenantID)
	if err != nil {
		return ingest.Ingested{}, err
	}
	fev, err := filter.ParseEvent(ev.Type, ev.EntityType, ev.Entity, ev.ChangeDescription)
	if err != nil {
		return ingest.Ingested{}, err
	}
	now := store.Now()
	ev.CreatedAt = now
	var ds []models.Delivery
	for _, w := range hooks {
		if !filter.Matches(w.EventFilters, fev) {
			continue
		}
		ds = append(ds, models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: ev.TenantID, EventID: ev.ID,
			WebhookID: w.ID, EventType: ev.Type, Status: models.DeliveryPending, Trigger: models.TriggerScheduled,
			CreatedAt: now, UpdatedAt: now})
	}
	stored, ds, created, err := f.store.IngestEvent(ctx, &ev, ds)
	if err != nil {
		return ingest.Ingested{}, err
	}
	return ingest.Ingested{Event: *stored, Deliveries: ds, Created: created}, nil
}

func (f *fakeDispatcher) IngestMany(ctx context.Context, evs []models.Event) ([]ingest.Ingested, error) {
	out := make([]ingest.Ingested, len(evs))
	for i, ev := range evs {
		res, err := f.Ingest(ctx, ev)
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

func (f *fakeDispatcher) WebhooksChanged(tenant string) { f.record("webhooks changed %s", tenant) }

func (f *fakeDispatcher) Replay(ctx context.Context, id string) (*models.Delivery, error) {
	f.record("replay %s", id)
	return f.store.ResetForReplay(ctx, id)
}

// Test records a test delivery that succeeded at once.
func (f *fakeDispatcher) TestUnsaved(_ context.Context, w *models.Webhook, sample *dispatch.Sample) (*models.Delivery, *models.Attempt, error) {
	f.record("test unsaved %s %v", w.Endpoint, sample != nil)
	now := store.Now()
	code := 200
	d := &models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: w.TenantID, EventID: "unsaved", WebhookID: w.ID,
		EventType: "webhookd.test", Status: models.DeliverySucceeded, Trigger: models.TriggerTest, AttemptCount: 1,
		CreatedAt: now, UpdatedAt: now}
	return d, &models.Attempt{Number: 1, Trigger: models.TriggerTest, RequestURL: w.Endpoint, ResponseStatus: &code,
		StartedAt: now, FinishedAt: now}, nil
}

func (f *fakeDispatcher) Test(ctx context.Context, w *models.Webhook, sample *dispatch.Sample) (*models.Delivery, *models.Attempt, error) {
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

func (f *fakeDispatcher) StartDLQReplay(_ context.Context, flt dispatch.DLQFilter, matched int, _ dispatch.DLQPace) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	f.record("dlq replay %q", flt.TenantID)
	f.mu.Lock()
	f.jobs[id] = flt
	f.mu.Unlock()
	return id, nil
}

func (f *fakeDispatcher) addJob(id, tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[id] = dispatch.DLQFilter{TenantID: tenant}
}

func (f *fakeDispatcher) DLQReplayJob(_ context.Context, id string) (*dispatch.DLQJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	flt, ok := f.jobs[id]
	if !ok {
		return nil, dispatch.ErrNoSuchJob
	}
	return &dispatch.DLQJob{ID: id, TenantID: flt.TenantID, Status: "completed"}, nil
}

func (f *fakeDispatcher) DeleteTenant(ctx context.Context, tenant string) (dispatch.TenantDeleted, error) {
	f.record("delete tenant %s", tenant)
	ok, err := f.store.TenantExists(ctx, tenant)
	if err != nil || !ok {
		return dispatch.TenantDeleted{}, dispatch.ErrNoSuchTenant
	}
	if err := f.store.DisableTenantWebhooks(ctx, tenant); err != nil {
		return dispatch.TenantDeleted{}, err
	}
	p, err := f.store.DeleteTenantData(ctx, tenant)
	return dispatch.TenantDeleted{TenantPurge: p}, err
}

func (f *fakeDispatcher) Pause(ctx context.Context, id, by string) (*models.Webhook, error) {
	f.record("pause %s", id)
	w, _, err := f.store.SetPaused(ctx, id, true, by)
	return w, err
}

func (f *fakeDispatcher) Resume(ctx context.Context, id, by string) (*models.Webhook, int64, error) {
	f.record("resume %s", id)
	return f.store.SetPaused(ctx, id, false, by)
}

func (f *fakeDispatcher) StopDeliveries(_ context.Context, id string) { f.record("stop %s", id) }

func (f *fakeDispatcher) HardDelete(ctx context.Context, w *models.Webhook) error {
	f.record("hard delete %s", w.ID)
	return f.store.HardDeleteWebhook(ctx, w.ID)
}

func (f *fakeDispatcher) CheckHealth(context.Context) error { return f.temporalErr }
