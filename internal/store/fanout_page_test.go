package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestPendingFanoutPages: the starter pages past events it cannot fan out;
// pages of both kinds of waiting event, several sharing a created_at (one
// request's events do), come in order, each once, plans left unread.
func TestPendingFanoutPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := store.Now().Add(-time.Minute)
		plan := `{"v":1}`
		var want []string
		for i := range 7 {
			ev := newEvent(fmt.Sprintf("evt-%d", i), at.Add(time.Duration(i/3)*time.Second))
			if i%2 == 0 {
				ev.FanoutPending = true
			} else {
				ev.FanoutPlan = &plan
			}
			if _, _, _, err := s.IngestEvent(ctx, ev, nil); err != nil {
				t.Fatal(err)
			}
			want = append(want, ev.ID)
		}
		var got []string
		var after *models.Event
		for page := 0; ; page++ {
			evs, err := s.PendingFanoutAfter(ctx, 2, after)
			if err != nil || page > 5 {
				t.Fatalf("page %d: %v", page, err)
			}
			for _, ev := range evs {
				got = append(got, ev.ID)
				planned := ev.FanoutPlan != nil
				if planned == ev.FanoutPending || (planned && *ev.FanoutPlan != "") {
					t.Fatalf("event %s: pending %t, plan %v; want one marker and the plan unread", ev.ID, ev.FanoutPending, ev.FanoutPlan)
				}
			}
			if len(evs) < 2 {
				break
			}
			after = &evs[len(evs)-1]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("paged %v, want %v", got, want)
		}
	})
}

// TestPendingFanoutIsIndexBacked: each page of waiting events of either kind
// reads its own partial index in order, among 200,000 events of which few
// wait, without a sort.
func TestPendingFanoutIsIndexBacked(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	db := storetest.Inspect(t, url)
	db.Exec(`INSERT INTO events (tenant_id, id, type, timestamp, created_at, fanout_pending, fanout_plan)
		SELECT 't' || (i % 20), 'evt-' || i, 'order.created', now(), now() - (200000 - i) * interval '1 second',
			i % 1000 = 0, CASE WHEN i % 1000 = 500 THEN '{"v":1}' END
		FROM generate_series(1, 200000) i`)
	db.Exec(`ANALYZE events`)
	after := &models.Event{CreatedAt: store.Now().Add(-time.Hour), TenantID: "t3", ID: "evt-9"}
	for _, c := range []struct {
		planned bool
		after   *models.Event
		index   string
	}{{false, nil, "events_fanout_pending"}, {false, after, "events_fanout_pending"}, {true, nil, "events_fanout_plan"}, {true, after, "events_fanout_plan"}} {
		plan, err := s.ExplainPendingFanout(ctx, c.planned, c.after)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "Sort") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("planned %t, after %v: the page does not read %s in order:\n%s", c.planned, c.after != nil, c.index, plan)
		}
	}
}
