package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
)

// TestEndToEndBreakerHoldsProbesAndReleases: a receiver that keeps failing
// auto-pauses its webhook (its events are held, retries hold), a probe goes
// out when due, and its success resumes the webhook and delivers everything
// held; the alert channel hears `disabled` and `recovered` once each.
func TestEndToEndBreakerHoldsProbesAndReleases(t *testing.T) {
	st := rig.NewStack(t, 200*time.Millisecond)
	var up atomic.Bool
	target := rig.NewRecorder(t, func(int) int {
		if up.Load() {
			return 200
		}
		return 503
	})
	alerts := rig.NewRecorder(t, rig.Always(200))
	hookID := st.CreateTenantWebhook("acme", "fragile", "order.*", target.URL)
	st.CreateTenantWebhook("acme", "alerts", "webhookd.webhook.*", alerts.URL)
	var w map[string]any
	st.Call("GET", "/api/v1/webhooks/"+hookID, nil, &w)
	w["webhookConfig"].(map[string]any)["circuitBreaker"] = map[string]any{"failures": 4, "span": "1s"}
	if code := st.Call("PUT", "/api/v1/webhooks/"+hookID, w, &w); code != 200 {
		t.Fatalf("set circuitBreaker: %d %v", code, w)
	}

	// Three events, each failing twice (the schedule has one retry), then a
	// fourth a second later: enough failures spanning a second.
	var first []string
	for i := 1; i <= 3; i++ {
		first = append(first, st.PostTenantEvent("acme", fmt.Sprintf("evt-%d", i), "order.created").Deliveries[0].ID)
	}
	time.Sleep(1100 * time.Millisecond)
	first = append(first, st.PostTenantEvent("acme", "evt-4", "order.created").Deliveries[0].ID)
	waitWebhookStatus(t, st, hookID, "autoPaused", 15*time.Second)
	for _, id := range first { // failed before the pause, or held at a retry
		waitSettled(t, st, id, 15*time.Second)
	}
	for i := 5; i <= 7; i++ {
		id := st.PostTenantEvent("acme", fmt.Sprintf("evt-%d", i), "order.created").Deliveries[0].ID
		st.WaitDelivery(id, "held", 5*time.Second)
	}
	sent := target.Count()
	details := st.Webhook(hookID)["failureDetails"].(map[string]any)
	if details["autoPausedReason"] == nil || details["nextProbe"] == nil {
		t.Fatalf("failureDetails while auto-paused: %v", details)
	}
	var log listT
	st.Call("GET", "/api/v1/webhooks/"+hookID+"/deliveries?status=held", nil, &log)
	held := log.Data // newest first
	if len(held) < 3 {
		t.Fatalf("held deliveries: %d, want the three new ones at least", len(held))
	}
	time.Sleep(500 * time.Millisecond)
	if target.Count() != sent {
		t.Fatalf("the receiver got %d requests while auto-paused", target.Count()-sent)
	}

	// The receiver comes back; the probe is due (a minute on: skipped here).
	up.Store(true)
	ctx := context.Background()
	if n, err := st.Store.StartDueProbes(ctx, time.Now().Add(store.FirstProbeWait+time.Second)); err != nil || n != 1 {
		t.Fatalf("probe: %d %v", n, err)
	}
	st.Dispatcher.Wake()
	waitWebhookStatus(t, st, hookID, "active", 15*time.Second)
	// The 503s before the pause halved the webhook's adaptive rate, down
	// to its floor of 0.1/s at worst, and each success raises it by a
	// twentieth of the rate it came down from, at least 0.1/s
	// (docs/architecture.md, "Adaptive slow-down"): the probe's success
	// leaves 0.2/s at worst, so the released deliveries flow out 5 s apart
	// at first, closer with each success (their slots move nearer as the
	// rate rises, seen at each waiter's next look): about 25 s for all
	// seven at worst, measured on 2 cores. (This pacing, with slots that
	// did not move, was the "missed start" this test used to see: held
	// deliveries released at 0.2/s waited on limiter timers.)
	deadline := time.Now().Add(60 * time.Second)
	for _, d := range held {
		st.WaitDelivery(d.ID, "succeeded", time.Until(deadline))
	}
	if got := target.Count() - sent; got != len(held) {
		t.Fatalf("the receiver got %d requests after it came back, want %d (one per held delivery)", got, len(held))
	}
	oldest, err := st.Store.GetDelivery(ctx, held[len(held)-1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if probe := target.Get(sent).Header.Get("X-Webhook-ID"); probe != oldest.EventID {
		t.Fatalf("the probe was %s, want the oldest held delivery's event %s", probe, oldest.EventID)
	}

	alerts.WaitHits(t, 3, 15*time.Second)
	time.Sleep(time.Second) // anything more would have come by now
	count := map[string]int{}
	for i := range alerts.Count() {
		var ev struct {
			Event string `json:"event"`
			Data  struct {
				Status string `json:"status"`
				Reason string `json:"reason"`
			} `json:"data"`
		}
		if err := json.Unmarshal(alerts.Get(i).Body, &ev); err != nil {
			t.Fatal(err)
		}
		count[strings.TrimPrefix(ev.Event, "webhookd.webhook.")+" "+ev.Data.Status+" "+ev.Data.Reason]++
	}
	// Once per transition; `failing` and `retryLimitReached` may or may not
	// precede the pause, depending on which failure opened it.
	if count["disabled autoPaused autoPaused"] != 1 || count["recovered active "] != 1 || count["failing awaitingRetry "] > 1 ||
		len(count) > 4 {
		t.Fatalf("alert channel got %v, want disabled (autoPaused) and recovered once each", count)
	}
}

func waitWebhookStatus(t *testing.T, st *rig.Stack, id, status string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := st.Webhook(id)["status"]
		if s == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook status %v after %s, want %s", s, within, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSettled waits for a delivery to be failed or held: no attempt of it
// is in flight or due.
func waitSettled(t *testing.T, st *rig.Stack, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var d rig.DeliveryDetail
		st.Call("GET", "/api/v1/deliveries/"+id, nil, &d)
		if d.Status == "failed" || d.Status == "held" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s after %s, want failed or held", id, d.Status, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
