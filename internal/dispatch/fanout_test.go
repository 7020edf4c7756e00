package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestABadFanOutNeverStopsTheStarter: the oldest waiting event has a plan
// no release can read; the starter skips it every pass, and still expands
// the other plans (a few per pass: a budget of one event) and starts
// their deliveries, without waiting for its poll.
func TestABadFanOutNeverStopsTheStarter(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	db := storetest.Inspect(t, url)
	ctx := context.Background()
	threeWebhooks(t, s, false)
	fake := dispatchtest.New()
	d, in := newDispatcher(s, fake)
	ingestFourPlans(t, in)
	db.Exec(`UPDATE events SET fanout_plan = 'not json' WHERE id = 'evt-0'`)
	startPlanStarter(t, d, in)
	deadline := time.Now().Add(10 * time.Second)
	for starts, _ := started(fake); len(starts) < 9; starts, _ = started(fake) {
		if time.Now().After(deadline) {
			t.Fatalf("started %d of the 9 deliveries of the readable plans", len(starts))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if evs, _ := s.PendingFanout(ctx, 100); len(evs) != 1 || evs[0].ID != "evt-0" {
		t.Fatalf("waiting: %+v, want the unreadable plan only", evs)
	}
}

// TestStarterExpandsWaitingPlansWithoutItsPoll: plans wait beyond one
// pass's budget and their deliveries start nothing (their webhooks are
// paused: held): the starter still passes again at once while FanOut says
// more wait, instead of leaving the rest to its poll.
func TestStarterExpandsWaitingPlansWithoutItsPoll(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	threeWebhooks(t, s, true)
	fake := dispatchtest.New()
	d, in := newDispatcher(s, fake)
	ingestFourPlans(t, in)
	startPlanStarter(t, d, in)
	deadline := time.Now().Add(10 * time.Second)
	for evs, _ := s.PendingFanout(ctx, 100); len(evs) > 0; evs, _ = s.PendingFanout(ctx, 100) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 plans still wait: the starter waits for its poll", len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	held, err := s.CountDeliveries(ctx, store.DeliveryQuery{Status: models.DeliveryHeld})
	if err != nil || held != 12 {
		t.Fatalf("held deliveries: %d (%v), want the 12 planned", held, err)
	}
	if starts, _ := started(fake); len(starts) != 0 {
		t.Fatalf("started %d deliveries of paused webhooks", len(starts))
	}
}

// threeWebhooks stores three webhooks of tenant acme for every event type,
// paused or not.
func threeWebhooks(t *testing.T, s *store.Store, paused bool) {
	t.Helper()
	now := time.Now()
	for i := range 3 {
		w := &models.Webhook{ID: uuid.NewString(), TenantID: "acme", Name: fmt.Sprintf("w-%d", i), WebhookType: models.WebhookGeneric,
			Enabled: true, Paused: paused, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
			EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: "https://example.com/in", CreatedAt: now, UpdatedAt: now}
		if err := s.CreateWebhook(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
}

// ingestFourPlans ingests four events whose deliveries are planned (past a
// fan-out of 2), to be expanded one event per pass (a budget of one).
func ingestFourPlans(t *testing.T, in *ingest.Ingester) {
	t.Helper()
	in.InlineFanout, in.FanoutBudget = 2, 1
	for i := range 4 {
		if _, err := in.Ingest(context.Background(), event("acme", fmt.Sprintf("evt-%d", i), "order.created")); err != nil {
			t.Fatal(err)
		}
	}
}

// startPlanStarter runs d's starter until the test ends, with a poll too
// slow to matter: the ingests' wake-up is drained, so its passes alone
// must do the work.
func startPlanStarter(t *testing.T, d *dispatch.Dispatcher, in *ingest.Ingester) {
	t.Helper()
	dispatch.Woken(d)
	runInBackground(t, d.NewStarter(in, dispatch.StarterOptions{Window: 1000, Poll: time.Hour}))
}
