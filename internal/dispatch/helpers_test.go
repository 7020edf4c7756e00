package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// started counts the starts r was asked for by workflow id, and lists them
// in order.
func started(r *dispatchtest.Runner) (map[string]int, []string) {
	m := map[string]int{}
	var order []string
	for _, run := range r.Starts() {
		m[run.WorkflowID]++
		order = append(order, run.WorkflowID)
	}
	return m, order
}

// newDispatcher returns a dispatcher on s and r, with its matcher and ingest.
func newDispatcher(s *store.Store, r dispatch.Runner) (*dispatch.Dispatcher, *ingest.Ingester) {
	m := ingest.NewMatcher(s, 0)
	d := dispatch.New(s, r, m, slog.New(slog.DiscardHandler))
	return d, ingest.New(s, m, d)
}

// newStarter returns a dispatcher's starter on s and r, woken by ingest.
func newStarter(s *store.Store, r dispatch.Runner, o dispatch.StarterOptions) (*dispatch.Starter, *ingest.Ingester) {
	d, in := newDispatcher(s, r)
	return d.NewStarter(in, o), in
}

// runOf is the run of a delivery of tenant as its start named it, for runs
// opened elsewhere (dispatchtest.Runner.SetOpen).
func runOf(tenant, deliveryID string) dispatch.Run {
	return dispatch.Run{WorkflowID: workflows.DeliveryWorkflowID(deliveryID), Workflow: workflows.DeliveryWorkflow,
		SearchAttributes: map[string]string{workflows.TenantIDAttr.GetName(): tenant}}
}

func event(tenant, id, typ string) models.Event {
	return models.Event{TenantID: tenant, ID: id, Type: typ, Data: json.RawMessage(`{}`), Timestamp: time.Now()}
}

// seedOutbox stores a webhook and n events, each with one delivery waiting
// in the outbox, one millisecond apart, and returns the delivery ids oldest
// first.
func seedOutbox(t *testing.T, s *store.Store, n int) (*models.Webhook, []string) {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	w := &models.Webhook{ID: uuid.NewString(), TenantID: "acme", Name: "outbox", WebhookType: models.WebhookGeneric,
		Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
		EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: "https://example.com/in", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	ins := make([]store.Ingestion, n)
	base := now.Add(-time.Hour)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Millisecond)
		ev := &models.Event{TenantID: "acme", ID: fmt.Sprintf("evt-%05d", i), Type: "order.created", Timestamp: at, CreatedAt: at}
		d := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", EventID: ev.ID, WebhookID: w.ID,
			EventType: ev.Type, Status: models.DeliveryPending, Trigger: models.TriggerScheduled, CreatedAt: at, UpdatedAt: at}
		ids[i] = d.ID
		ins[i] = store.Ingestion{Event: ev, Deliveries: []models.Delivery{d}}
	}
	if _, err := s.IngestEvents(ctx, ins); err != nil {
		t.Fatal(err)
	}
	return w, ids
}

// runStarter runs a starter until the outbox is empty (or the deadline).
func runStarter(t *testing.T, st *dispatch.Starter, s *store.Store, within time.Duration) {
	t.Helper()
	defer runInBackground(t, st)()
	waitEmpty(t, s, within)
}

// runInBackground runs st until the returned stop is called or the test
// ends, whichever comes first; stop returns once Run has.
func runInBackground(t *testing.T, st *dispatch.Starter) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx) }()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return stop
}

func waitEmpty(t *testing.T, s *store.Store, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n, err := s.CountUndispatched(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d deliveries after %v", n, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
