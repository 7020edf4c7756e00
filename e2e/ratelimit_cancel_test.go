package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// TestReenabledWebhookDoesNotWaitForCancelledSlots: a webhook limited to
// one request every 2 s, with deliveries waiting for their rate slots, is
// disabled (they are cancelled) and enabled again; its next events are sent
// from the next slot or two on, 2 s apart (the limit holds), not after every
// slot the cancelled deliveries had reserved (up to a minute of them).
func TestReenabledWebhookDoesNotWaitForCancelledSlots(t *testing.T) {
	t.Parallel()
	st := rig.NewStack(t)
	g := newGauge(t, 0, func(*http.Request) int { return http.StatusOK })
	hookID := createLimited(st, "paced-then-disabled", g.URL, map[string]any{"rateLimit": 0.5})
	var ids []string
	for i := range 30 {
		ids = append(ids, st.PostEvent(fmt.Sprintf("evt-paced-%d", i), "order.created").Deliveries[0].ID)
	}
	g.waitArrivals(t, 2, 30*time.Second) // the rest wait for their slots, 2 s apart
	enable := func(on bool) {
		t.Helper()
		doc := st.Webhook(hookID)
		doc["enabled"] = on
		if code := st.Call("PUT", "/api/v1/webhooks/"+hookID, doc, nil); code != http.StatusOK {
			t.Fatalf("enabled=%v: %d", on, code)
		}
	}
	enable(false)
	for _, id := range ids {
		var d rig.DeliveryDetail
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			d = rig.DeliveryDetail{}
			st.Call("GET", "/api/v1/deliveries/"+id, nil, &d)
			if d.Status == "cancelled" || d.Status == "succeeded" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery %s is %q 30 s after its webhook was disabled", id, d.Status)
			}
		}
	}
	_, sent := g.snapshot()
	enable(true)
	posted := time.Now()
	for i := range 3 {
		st.PostEvent(fmt.Sprintf("evt-paced-after-%d", i), "order.created")
	}
	arrivals := g.waitArrivals(t, len(sent)+3, 90*time.Second)[len(sent):]
	took := arrivals[0].Sub(posted)
	t.Logf("%d sent before the webhook was disabled; the next event arrived %v after it was posted", len(sent), took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Fatalf("the first event after the webhook was enabled again arrived %v after it was posted, want within a slot or two (2 s each)", took)
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < 1500*time.Millisecond {
			t.Fatalf("requests %v apart under rateLimit 0.5/s after the slots were given back: %v", gap, arrivals)
		}
	}
}
