package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
)

// createOrdered creates a webhook taking order.* events, ordered by
// data.orderId with onExhausted block.
func createOrdered(t *testing.T, st *rig.Stack, name, endpoint string) string {
	t.Helper()
	var out map[string]any
	code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": name, "webhookType": "Generic",
		"eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": endpoint, "timeout": 5,
			"ordering": map[string]any{"key": "data.orderId", "onExhausted": "block"}},
	}, &out)
	if code != 201 {
		t.Fatalf("create ordered webhook: %d %v", code, out)
	}
	return out["id"].(string)
}

// postOrder posts event id about order orderID and returns its delivery.
func postOrder(t *testing.T, st *rig.Stack, id, orderID string) string {
	t.Helper()
	var out rig.Ingested
	code := st.Call("POST", "/api/v1/events", map[string]any{"id": id, "type": "order.updated",
		"data": map[string]any{"orderId": orderID}}, &out)
	if code != 202 || len(out.Deliveries) != 1 {
		t.Fatalf("post %s: %d %+v", id, code, out)
	}
	return out.Deliveries[0].ID
}

// checkOrder fails unless every request for an event of a key came after a
// successful request for each earlier event of that key. Events are named
// <key>-<n>, n counting from 1 in the order they were posted; ok says
// whether the receiver answered the i-th request (0-based) with a 2xx.
func checkOrder(t *testing.T, rc *rig.Recorder, ok func(i int) bool) {
	t.Helper()
	done := map[string]int{} // key → the highest n delivered in an unbroken run
	for i := range rc.Count() {
		id := rc.Get(i).Header.Get("X-Webhook-ID")
		cut := strings.LastIndex(id, "-")
		var n int
		if _, err := fmt.Sscan(id[cut+1:], &n); err != nil {
			t.Fatalf("event id %q", id)
		}
		key := id[:cut]
		if n > done[key]+1 {
			t.Fatalf("request %d sent %s before %s-%d succeeded", i, id, key, done[key]+1)
		}
		if ok(i) && n == done[key]+1 {
			done[key] = n
		}
	}
}

// TestEndToEndOrderHoldsWithRetriesAndARestart: five keys of six events,
// posted interleaved, to a receiver failing a quarter of the requests; the
// worker stops and starts again midway. Each key's events arrive strictly in
// order, and every event is delivered.
func TestEndToEndOrderHoldsWithRetriesAndARestart(t *testing.T) {
	st := rig.NewStack(t, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond,
		100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond)
	rng := rand.New(rand.NewPCG(17, 17))
	fails := make([]bool, 10000)
	for i := range fails {
		fails[i] = rng.IntN(4) == 0
	}
	rc := rig.NewRecorder(t, func(n int) int {
		if fails[n-1] {
			return 503
		}
		return 200
	})
	createOrdered(t, st, "ordered", rc.URL)
	var ids []string
	for n := 1; n <= 6; n++ {
		for k := range 5 {
			ids = append(ids, postOrder(t, st, fmt.Sprintf("order%d-%d", k, n), fmt.Sprintf("order%d", k)))
		}
		if n == 3 {
			st.Worker.Stop()
			time.Sleep(300 * time.Millisecond)
			st.StartWorker()
		}
	}
	for _, id := range ids {
		st.WaitDelivery(id, "succeeded", 60*time.Second)
	}
	checkOrder(t, rc, func(i int) bool { return !fails[i] })
	t.Logf("%d requests for %d events", rc.Count(), len(ids))
}

// TestEndToEndBlockReplayAndSkip: a delivery that runs out of retries stops
// its key (later ones show what they wait for) while another key goes on;
// replaying it mid-sequence lets the key continue in order; skipping another
// failed one moves its key on.
func TestEndToEndBlockReplayAndSkip(t *testing.T) {
	st := rig.NewStack(t, 100*time.Millisecond)
	var (
		mu     sync.Mutex
		broken = map[string]bool{"a-2": true, "a-4": true}
		got    []string // event ids answered 2xx, in order
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Webhook-ID")
		mu.Lock()
		defer mu.Unlock()
		if broken[id] {
			// 500: a 503 would ask for less and not use schedule steps.
			w.WriteHeader(500)
			return
		}
		got = append(got, id)
	}))
	t.Cleanup(rc.Close)
	createOrdered(t, st, "blocking", rc.URL)
	del := map[string]string{}
	for _, id := range []string{"a-1", "b-1", "a-2", "b-2", "a-3", "b-3", "a-4", "a-5"} {
		del[id] = postOrder(t, st, id, id[:1])
	}
	// a-2 runs out of retries; a stops behind it, b goes on.
	st.WaitDelivery(del["a-2"], "failed", 20*time.Second)
	for _, id := range []string{"a-1", "b-1", "b-2", "b-3"} {
		st.WaitDelivery(del[id], "succeeded", 20*time.Second)
	}
	var detail struct {
		Status   string `json:"status"`
		Sequence struct {
			Key        string `json:"key"`
			WaitingFor string `json:"waitingFor"`
		} `json:"sequence"`
	}
	time.Sleep(300 * time.Millisecond) // a sequence that moved on would have sent a-3 by now
	st.Call("GET", "/api/v1/deliveries/"+del["a-3"], nil, &detail)
	if detail.Status != "pending" || detail.Sequence.Key != "a" || detail.Sequence.WaitingFor != del["a-2"] {
		t.Fatalf("a-3 behind a blocked a-2: %+v", detail)
	}
	// Replay a-2 once the receiver takes it: a-3 follows, a-4 blocks next.
	mu.Lock()
	delete(broken, "a-2")
	mu.Unlock()
	if code := st.Call("POST", "/api/v1/deliveries/"+del["a-2"]+"/replay", nil, nil); code != 202 {
		t.Fatalf("replay: %d", code)
	}
	st.WaitDelivery(del["a-3"], "succeeded", 20*time.Second)
	st.WaitDelivery(del["a-4"], "failed", 20*time.Second)
	// Skip a-4: a-5 goes; a-4 stays in the dead-letter queue.
	if code := st.Call("POST", "/api/v1/deliveries/"+del["a-4"]+"/skip", nil, nil); code != 200 {
		t.Fatalf("skip: %d", code)
	}
	st.WaitDelivery(del["a-5"], "succeeded", 20*time.Second)
	mu.Lock()
	defer mu.Unlock()
	var a, b []string
	for _, id := range got {
		if strings.HasPrefix(id, "a-") {
			a = append(a, id)
		} else {
			b = append(b, id)
		}
	}
	if strings.Join(a, ",") != "a-1,a-2,a-3,a-5" || strings.Join(b, ",") != "b-1,b-2,b-3" {
		t.Fatalf("the receiver took a: %v, b: %v", a, b)
	}
}
