package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestStarterStartsWhatCameBackAsItWas: the outbox holds new deliveries and
// ones that come back to it: released after a pause (attempted, or claimed
// before), and replays whose own start failed. A new one runs once, eagerly;
// one that came back starts a new run unless one is open (Again),
// continuing its numbering and schedule; a replay replaces any open run
// and starts its schedule again.
func TestStarterStartsWhatCameBackAsItWas(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	w, ids := seedOutbox(t, s, 1)
	fresh := ids[0]
	back := func(attempts, starts int, trigger models.Trigger) string {
		t.Helper()
		now := store.Now()
		ev := &models.Event{TenantID: "acme", ID: uuid.NewString(), Type: "order.created", Timestamp: now, CreatedAt: now}
		d := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", EventID: ev.ID, WebhookID: w.ID,
			EventType: ev.Type, Status: models.DeliveryPending, Trigger: trigger, AttemptCount: attempts, Starts: starts,
			CreatedAt: now, UpdatedAt: now}
		if _, err := s.IngestEvents(context.Background(), []store.Ingestion{{Event: ev, Deliveries: []models.Delivery{d}}}); err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	// Each condition on its own: attempts without a claim counted (rows
	// from before claims were), and a claim without an attempt.
	attempted := back(2, 0, models.TriggerScheduled)
	claimedBefore := back(0, 1, models.TriggerScheduled)
	replay := back(1, 1, models.TriggerReplay)

	fake := dispatchtest.New()
	st, _ := newStarter(s, fake, dispatch.StarterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx) }()
	// Claimed is not started: wait for the starts themselves.
	for deadline := time.Now().Add(10 * time.Second); len(fake.Starts()) < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	runs := map[string]dispatch.Run{}
	for _, r := range fake.Starts() {
		runs[r.WorkflowID] = r
	}
	if len(runs) != 4 {
		t.Fatalf("started %d deliveries, want 4", len(runs))
	}
	for _, c := range []struct {
		name, id    string
		policy      dispatch.Policy
		eager       bool
		first, used int
	}{
		{"new", fresh, dispatch.Once, true, 1, 0},
		{"attempted, paused, resumed", attempted, dispatch.Again, false, 3, 2},
		{"claimed before, paused, resumed", claimedBefore, dispatch.Again, false, 1, 0},
		{"replay whose start failed", replay, dispatch.Replace, false, 2, 0},
	} {
		r, ok := runs[workflows.DeliveryWorkflowID(c.id)]
		if !ok {
			t.Errorf("%s: not started", c.name)
			continue
		}
		in := r.Input.(workflows.DeliveryInput)
		if r.Policy != c.policy || r.Eager != c.eager || in.FirstAttempt != c.first || in.RetriesUsed != c.used {
			t.Errorf("%s: policy %d eager %v, attempt %d after %d retries; want %d %v, %d after %d",
				c.name, r.Policy, r.Eager, in.FirstAttempt, in.RetriesUsed, c.policy, c.eager, c.first, c.used)
		}
	}
}

// TestResumedStartThatFoundAClosingRunStartsAgain: a resumed delivery's
// start can go to the run that held it while that run closes (it recorded
// `held`, then returned); with no run open a few seconds later and the
// delivery as its claim left it, the starter starts it again. One whose
// run is open, or that a run has moved on, is left alone.
func TestResumedStartThatFoundAClosingRunStartsAgain(t *testing.T) {
	for _, c := range []struct {
		name   string
		open   bool // a run is open
		moved  bool // a run recorded an attempt after the start
		starts int
	}{
		{"run closed", false, false, 2},
		{"run open", true, false, 1},
		{"moved on", false, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := storetest.Open(t, store.Postgres)
			w, _ := seedOutbox(t, s, 0)
			now := store.Now()
			ev := &models.Event{TenantID: "acme", ID: uuid.NewString(), Type: "order.created", Timestamp: now, CreatedAt: now}
			d := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", EventID: ev.ID, WebhookID: w.ID,
				EventType: ev.Type, Status: models.DeliveryPending, Trigger: models.TriggerScheduled, AttemptCount: 1, Starts: 1,
				CreatedAt: now, UpdatedAt: now}
			if _, err := s.IngestEvents(context.Background(), []store.Ingestion{{Event: ev, Deliveries: []models.Delivery{d}}}); err != nil {
				t.Fatal(err)
			}
			fake := dispatchtest.New()
			if c.open {
				fake.SetDescribed(workflows.DeliveryWorkflowID(d.ID), dispatchtest.Described{Status: dispatch.Running})
			}
			st, _ := newStarter(s, fake, dispatch.StarterOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); st.Run(ctx) }()
			defer func() { cancel(); <-done }()
			waitStarts(t, fake, 1, 10*time.Second)
			if c.moved {
				if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryAwaitingRetry}); err != nil {
					t.Fatal(err)
				}
			}
			if c.starts > 1 {
				waitStarts(t, fake, c.starts, 10*time.Second)
				if r := fake.Starts()[1]; r.Policy != dispatch.Again {
					t.Fatalf("started again with policy %v, want Again (a new run unless one is open)", r.Policy)
				}
				return
			}
			time.Sleep(5 * time.Second) // past the first look again
			if n := len(fake.Starts()); n != c.starts {
				t.Fatalf("%d starts, want %d", n, c.starts)
			}
		})
	}
}
