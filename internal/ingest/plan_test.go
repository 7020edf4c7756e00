package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestLargeFanOutIsPlannedThenExpanded: past InlineFanout, an event's
// deliveries are answered at once (a paused webhook's held) but stored as
// a plan; the table gets them, under the answered ids, when FanOut runs. A
// repeat of the event answers the same ids before and after. An ordered
// webhook's delivery is stored at once all the same, and an event within
// the limit is stored inline as before.
func TestLargeFanOutIsPlannedThenExpanded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var paused *models.Webhook
		for i := range 5 {
			w := webhook(t, s, "acme", fmt.Sprintf("plain-%d", i), nil)
			if i == 0 {
				paused = w
			}
		}
		if _, _, err := s.SetPaused(ctx, paused.ID, true, "test"); err != nil {
			t.Fatal(err)
		}
		ordered := webhook(t, s, "acme", "ordered", func(w *models.Webhook) {
			w.OrderingKey, w.OrderingOnExhausted = "webhook", "skip"
		})
		wk := &waker{}
		in := ingest.New(s, ingest.NewMatcher(s, 0), wk)
		in.InlineFanout = 2

		res, err := in.Ingest(ctx, event("acme", "evt-big", "order.created"))
		if err != nil || !res.Created || len(res.Deliveries) != 6 {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		answered := map[string]models.Delivery{}
		for _, d := range res.Deliveries {
			answered[d.ID] = d
			want := models.DeliveryPending
			if d.WebhookID == paused.ID {
				want = models.DeliveryHeld
			}
			if d.Status != want {
				t.Errorf("delivery to %s is %s, want %s", d.WebhookID, d.Status, want)
			}
		}
		rows := func() []models.Delivery {
			t.Helper()
			ds, err := s.EventDeliveries(ctx, "acme", "evt-big")
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		if ds := rows(); len(ds) != 1 || ds[0].WebhookID != ordered.ID || answered[ds[0].ID].ID == "" {
			t.Fatalf("rows before the fan-out: %+v, want the ordered webhook's only", ds)
		}
		in.Wake([]ingest.Ingested{res})
		if wk.now != 1 {
			t.Fatalf("starter woken %d times", wk.now)
		}
		repeat := func(when string) {
			t.Helper()
			again, err := in.Ingest(ctx, event("acme", "evt-big", "order.created"))
			if err != nil || again.Created || len(again.Deliveries) != 6 {
				t.Fatalf("repeat %s: %+v %v", when, again, err)
			}
			for _, d := range again.Deliveries {
				if answered[d.ID].WebhookID != d.WebhookID {
					t.Fatalf("repeat %s answered %s → %s, not in the first answer", when, d.ID, d.WebhookID)
				}
			}
		}
		repeat("before the fan-out")

		if n, _, err := in.FanOut(ctx); err != nil || n != 1 {
			t.Fatalf("fan out: %d %v", n, err)
		}
		ds := rows()
		if len(ds) != 6 {
			t.Fatalf("%d rows after the fan-out", len(ds))
		}
		for _, d := range ds {
			if a := answered[d.ID]; a.WebhookID != d.WebhookID || a.Status != d.Status || !a.CreatedAt.Equal(d.CreatedAt) {
				t.Errorf("row %+v, answered %+v", d, a)
			}
		}
		repeat("after the fan-out")
		if n, _, err := in.FanOut(ctx); err != nil || n != 0 {
			t.Fatalf("second fan out: %d %v", n, err)
		}

		// Within the limit: inline, as before (the ordered webhook and two
		// of the others).
		in.InlineFanout = 5
		res, err = in.Ingest(ctx, event("acme", "evt-small", "order.created"))
		if err != nil || len(res.Deliveries) != 6 {
			t.Fatalf("ingest within the limit: %+v %v", res, err)
		}
		if ds, _ := s.EventDeliveries(ctx, "acme", "evt-small"); len(ds) != 6 {
			t.Fatalf("%d rows of an event within the limit", len(ds))
		}
		if evs, _ := s.PendingFanout(ctx, 100); len(evs) != 0 {
			t.Fatalf("pending fan-outs: %+v", evs)
		}
	})
}

// TestABadPlanIsSkipped: an event whose plan cannot be read (garbage) and
// one whose plan is of another release's format are skipped, each with
// its error, and left waiting; another tenant's plan, younger than both,
// is expanded all the same. (PostgreSQL: the plans are spoiled directly.)
func TestABadPlanIsSkipped(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	db := storetest.Inspect(t, url)
	ctx := context.Background()
	for _, tenant := range []string{"acme", "globex"} {
		for i := range 3 {
			webhook(t, s, tenant, fmt.Sprintf("plain-%d", i), nil)
		}
	}
	in := ingest.New(s, ingest.NewMatcher(s, 0), &waker{})
	in.InlineFanout = 2
	for _, id := range []string{"evt-garbage", "evt-newer"} {
		if _, err := in.Ingest(ctx, event("acme", id, "order.created")); err != nil {
			t.Fatal(err)
		}
	}
	db.Exec(`UPDATE events SET fanout_plan = 'not json' WHERE id = 'evt-garbage'`)
	db.Exec(`UPDATE events SET fanout_plan = '{"v":2,"deliveries":[]}' WHERE id = 'evt-newer'`)
	res, err := in.Ingest(ctx, event("globex", "evt-good", "order.created"))
	if err != nil || len(res.Deliveries) != 3 {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	n, more, err := in.FanOut(ctx)
	if n != 1 || more || err == nil || !errors.Is(err, store.ErrPlanVersion) || !strings.Contains(err.Error(), "evt-garbage") {
		t.Fatalf("fan out: %d %v %v", n, more, err)
	}
	if ds, _ := s.EventDeliveries(ctx, "globex", "evt-good"); len(ds) != 3 {
		t.Fatalf("%d rows of the good plan", len(ds))
	}
	if evs, _ := s.PendingFanout(ctx, 100); len(evs) != 2 {
		t.Fatalf("%d events waiting, want the two bad ones", len(evs))
	}
	// A newer release's plan is answered with the rows so far (none),
	// not refused.
	again, err := in.Ingest(ctx, event("acme", "evt-newer", "order.created"))
	if err != nil || again.Created || len(again.Deliveries) != 0 {
		t.Fatalf("repeat of a newer plan: %+v %v", again, err)
	}
}

// TestFanOutStopsAtItsBudget: one call inserts about FanoutBudget
// deliveries (at least one event's), says more wait, and the next calls
// finish, oldest first.
func TestFanOutStopsAtItsBudget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 3 {
			webhook(t, s, "acme", fmt.Sprintf("plain-%d", i), nil)
		}
		in := ingest.New(s, ingest.NewMatcher(s, 0), &waker{})
		in.InlineFanout, in.FanoutBudget = 2, 5
		for i := range 4 {
			if _, err := in.Ingest(ctx, event("acme", fmt.Sprintf("evt-%d", i), "order.created")); err != nil {
				t.Fatal(err)
			}
		}
		expanded := func() (n int) {
			for i := range 4 {
				if ds, _ := s.EventDeliveries(ctx, "acme", fmt.Sprintf("evt-%d", i)); len(ds) > 0 {
					n++
				}
			}
			return n
		}
		// 3 + 3 ≥ 5: two events a call.
		for call, want := range []int{2, 4} {
			n, more, err := in.FanOut(ctx)
			if err != nil || n != 2 || more != (want < 4) || expanded() != want {
				t.Fatalf("call %d: %d %v %v, %d expanded", call, n, more, err, expanded())
			}
		}
		// A budget smaller than one plan still expands one event a call.
		in.FanoutBudget = 1
		if _, err := in.Ingest(ctx, event("acme", "evt-last", "order.created")); err != nil {
			t.Fatal(err)
		}
		if n, _, err := in.FanOut(ctx); err != nil || n != 1 {
			t.Fatalf("with a budget under one plan: %d %v", n, err)
		}
	})
}

// TestFailingEventsNeverHoldUpTheOnesBehind: more events that fail than one
// page holds (plans of a newer release wait for a replica that knows them)
// do not keep FanOut from the events behind them.
func TestFailingEventsNeverHoldUpTheOnesBehind(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	db := storetest.Inspect(t, url)
	ctx := context.Background()
	for i := range 3 {
		webhook(t, s, "acme", fmt.Sprintf("plain-%d", i), nil)
	}
	in := ingest.New(s, ingest.NewMatcher(s, 0), &waker{})
	in.InlineFanout = 2
	for i := range 101 {
		if _, err := in.Ingest(ctx, event("acme", fmt.Sprintf("evt-newer-%03d", i), "order.created")); err != nil {
			t.Fatal(err)
		}
	}
	db.Exec(`UPDATE events SET fanout_plan = '{"v":2,"deliveries":[]}' WHERE id LIKE 'evt-newer-%'`)
	if _, err := in.Ingest(ctx, event("acme", "evt-good", "order.created")); err != nil {
		t.Fatal(err)
	}
	n, more, err := in.FanOut(ctx)
	if n != 1 || more || !errors.Is(err, store.ErrPlanVersion) || !strings.Contains(err.Error(), "and 98 more events failed") {
		t.Fatalf("fan out past 101 failing events: done %d, more %t, %v", n, more, err)
	}
	if ds, _ := s.EventDeliveries(ctx, "acme", "evt-good"); len(ds) != 3 {
		t.Fatalf("%d rows of the plan behind the failing ones, want 3", len(ds))
	}
}
