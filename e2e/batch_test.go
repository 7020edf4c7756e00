package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/webhookd/webhookd/e2e/rig"
)

type batchBody struct {
	ID    string `json:"id"`
	Event string `json:"event"`
	Data  struct {
		Count  int `json:"count"`
		Events []struct {
			ID    string `json:"id"`
			Event string `json:"event"`
		} `json:"events"`
	} `json:"data"`
}

// TestEndToEndBatchedDelivery: a webhook that opts in to batching gets its
// events several per request, each batch one delivery with one workflow: a
// full batch goes at once, a partial one after the wait; a failing batch is
// retried whole (same id, same events); a replay re-sends it; receivers
// verify its signature with the official Standard Webhooks library.
func TestEndToEndBatchedDelivery(t *testing.T) {
	st := rig.NewStack(t, 200*time.Millisecond, 200*time.Millisecond)
	rc := rig.NewRecorder(t, func(n int) int {
		if n <= 2 {
			return 503 // the first batch fails twice
		}
		return 200
	})
	var hook map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": "batched", "webhookType": "Generic", "batchSize": 5,
		"eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL, "secretKey": rig.Secret,
			"batching": map[string]any{"enabled": true, "maxWaitMs": 300}},
	}, &hook); code != 201 {
		t.Fatalf("create: %d %v", code, hook)
	}
	var batchID string
	for i := range 5 {
		ans := st.PostEvent(fmt.Sprintf("evt-b%d", i), "order.created")
		if len(ans.Deliveries) != 1 {
			t.Fatalf("event %d: %+v", i, ans)
		}
		if batchID == "" {
			batchID = ans.Deliveries[0].ID
		} else if ans.Deliveries[0].ID != batchID {
			t.Fatalf("event %d went to delivery %s, not the open batch %s", i, ans.Deliveries[0].ID, batchID)
		}
	}
	d := st.WaitDelivery(batchID, "succeeded", 15*time.Second)
	if d.Attempts != 3 {
		t.Fatalf("batch delivery = %+v, want success on attempt 3", d)
	}
	wh, err := standardwebhooks.NewWebhook(rig.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got := rc.Get(i)
		var b batchBody
		if err := json.Unmarshal(got.Body, &b); err != nil {
			t.Fatal(err)
		}
		if b.ID != batchID || b.Event != "webhookd.batch" || b.Data.Count != 5 || len(b.Data.Events) != 5 ||
			b.Data.Events[0].ID != "evt-b0" || b.Data.Events[4].ID != "evt-b4" {
			t.Fatalf("request %d body = %s", i+1, got.Body)
		}
		if got.Header.Get("X-Webhook-ID") != batchID || got.Header.Get("X-Webhook-Batch-Size") != "5" ||
			got.Header.Get("X-Event-Type") != "webhookd.batch" || got.Header.Get("X-Webhook-Attempt") != fmt.Sprint(i+1) {
			t.Fatalf("request %d headers = %v", i+1, got.Header)
		}
		if err := wh.Verify(got.Body, got.Header); err != nil {
			t.Fatalf("request %d: Standard Webhooks verification: %v", i+1, err)
		}
	}
	// The log shows the batch's events, and each event shows its batch.
	var detail struct {
		BatchSize     int      `json:"batchSize"`
		BatchEventIDs []string `json:"batchEventIds"`
	}
	st.Call("GET", "/api/v1/deliveries/"+batchID, nil, &detail)
	if detail.BatchSize != 5 || len(detail.BatchEventIDs) != 5 || detail.BatchEventIDs[2] != "evt-b2" {
		t.Fatalf("delivery detail = %+v", detail)
	}
	var ev struct {
		Deliveries []struct{ ID string } `json:"deliveries"`
	}
	st.Call("GET", "/api/v1/events/evt-b3", nil, &ev)
	if len(ev.Deliveries) != 1 || ev.Deliveries[0].ID != batchID {
		t.Fatalf("event evt-b3's deliveries = %+v", ev)
	}

	// Two more events: a partial batch, sent once its wait is over.
	posted := time.Now()
	second := st.PostEvent("evt-b5", "order.paid").Deliveries[0].ID
	if again := st.PostEvent("evt-b6", "order.paid").Deliveries[0].ID; again != second || second == batchID {
		t.Fatalf("second batch: %s then %s (first %s)", second, again, batchID)
	}
	st.WaitDelivery(second, "succeeded", 10*time.Second)
	rc.WaitHits(t, 4, 5*time.Second)
	var b batchBody
	if err := json.Unmarshal(rc.Get(3).Body, &b); err != nil || b.Data.Count != 2 {
		t.Fatalf("partial batch = %s", rc.Get(3).Body)
	}
	if waited := rc.Get(3).At.Sub(posted); waited < 250*time.Millisecond {
		t.Fatalf("a partial batch went after %v, before its 300ms wait", waited)
	}

	// Replay re-sends the first batch as it was.
	if code := st.Call("POST", "/api/v1/deliveries/"+batchID+"/replay", nil, nil); code != 202 {
		t.Fatalf("replay = %d", code)
	}
	rc.WaitHits(t, 5, 10*time.Second)
	var replayed batchBody
	if err := json.Unmarshal(rc.Get(4).Body, &replayed); err != nil || replayed.ID != batchID || replayed.Data.Count != 5 ||
		rc.Get(4).Header.Get("X-Webhook-Attempt") != "4" {
		t.Fatalf("replayed batch = %s %v", rc.Get(4).Body, rc.Get(4).Header)
	}
}
