package dispatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// fakeTemporal counts StartWorkflow calls by workflow id. Only the calls the
// dispatcher makes are implemented; anything else panics on the nil Client.
type fakeTemporal struct {
	client.Client
	mu     sync.Mutex
	starts map[string]int
	order  []string
	// fail, when set, decides whether a start fails.
	fail func(id string) error
}

func newFakeTemporal() *fakeTemporal { return &fakeTemporal{starts: map[string]int{}} }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(o.ID); err != nil {
			return nil, err
		}
	}
	f.starts[o.ID]++
	f.order = append(f.order, o.ID)
	return nil, nil
}

func (f *fakeTemporal) started() (map[string]int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.starts))
	for k, v := range f.starts {
		m[k] = v
	}
	return m, append([]string(nil), f.order...)
}

func newDispatcher(s *store.Store, c client.Client) *dispatch.Dispatcher {
	return dispatch.New(s, c, "webhooks", slog.New(slog.DiscardHandler))
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitEmpty(t, s, within)
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
