package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// TestRaisedRateLimitReachesWaitingDeliveries: ten events for a webhook
// limited to one request every 10 s; those started wait for their rate
// slots (the webhook's places in the start window hold the rest back), the
// farthest 30 s or more away. Raising its rateLimit to 2/s sends all ten
// within seconds at the new spacing: the edit moves the reserved slots
// nearer and wakes the workflows asleep until the old ones.
func TestRaisedRateLimitReachesWaitingDeliveries(t *testing.T) {
	t.Parallel()
	st := rig.NewStack(t)
	g := newGauge(t, 0, func(*http.Request) int { return http.StatusOK })
	hookID := createLimited(st, "raised-rate", g.URL, map[string]any{"rateLimit": 0.1})
	const events = 10
	for i := range events {
		st.PostEvent(fmt.Sprintf("evt-raised-%d", i), "order.created")
	}
	g.waitArrivals(t, 1, 30*time.Second)
	waiting := 0
	for deadline := time.Now().Add(30 * time.Second); waiting < 3; time.Sleep(100 * time.Millisecond) {
		var stats struct {
			Limits struct {
				Waiting struct {
					RateLimit int `json:"rateLimit"`
				} `json:"waiting"`
			} `json:"limits"`
		}
		st.Call("GET", "/api/v1/webhooks/"+hookID+"/stats", nil, &stats)
		if waiting = stats.Limits.Waiting.RateLimit; time.Now().After(deadline) {
			t.Fatalf("%d deliveries wait for a rate slot 30 s after the events, want 3 or more", waiting)
		}
	}

	doc := st.Webhook(hookID)
	cfg := doc["webhookConfig"].(map[string]any)
	cfg["rateLimit"] = 2
	if code := st.Call("PUT", "/api/v1/webhooks/"+hookID, doc, nil); code != http.StatusOK {
		t.Fatalf("raise the rateLimit: %d", code)
	}
	edited := time.Now()
	arrivals := g.waitArrivals(t, events, 90*time.Second)
	if _, all := g.snapshot(); len(all) != events {
		t.Fatalf("%d requests for %d events", len(all), events)
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	took := arrivals[events-1].Sub(edited)
	t.Logf("%d waited for their slots; the last of the %d others arrived %v after the edit", waiting, events-1, took.Round(time.Millisecond))
	// Nine at 2/s take 4.5 s; at 0.1/s the third waiter alone was due
	// 30 s after the first request.
	if took > 15*time.Second {
		t.Fatalf("the last delivery arrived %v after the rateLimit was raised to 2/s, want within 15 s", took)
	}
	// The limiter spaces grants at least 375 ms apart at 2/s (a quarter
	// of an interval of tolerance); arrivals vary a little more.
	for i := 2; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < 150*time.Millisecond {
			t.Fatalf("requests %v apart under rateLimit 2/s: %v", gap, arrivals)
		}
	}
}
