package store_test

import (
	"context"
	"fmt"
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
