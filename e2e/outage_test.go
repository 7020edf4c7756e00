package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestDatabaseOutageAnswers503LosesNothing: `webhookd api` reaches
// PostgreSQL through a proxy the test cuts while producers post. Every post
// answers 202 or, while the database is unreachable, 503 with Retry-After
// and the error body (never 500); /readyz names the database; once the proxy
// is back, every event that was answered 202 is delivered.
func TestDatabaseOutageAnswers503LosesNothing(t *testing.T) {
	r := newCrashRig(t)
	rc := newIDReceiver(t)
	proxy := storetest.NewProxy(t, r.env["DATABASE_URL"])
	r.startAPI("DATABASE_URL=" + proxy.URL(r.env["DATABASE_URL"]))
	r.createCatchAll("db-outage", rc.url)
	var (
		mu          sync.Mutex
		accepted    []string
		unavailable int
		n           int
		// restored is when the proxy came back; firstAfter the first 202
		// after it.
		restored, firstAfter time.Time
	)
	post := func() {
		mu.Lock()
		id := fmt.Sprintf("evt-db-outage-%04d", n)
		n++
		mu.Unlock()
		code, body := r.call("POST", "/api/v1/events", `{"id":"`+id+`","type":"order.created"}`)
		mu.Lock()
		defer mu.Unlock()
		var e struct{ Code, Message string }
		switch {
		case code == 202:
			accepted = append(accepted, id)
			if !restored.IsZero() && firstAfter.IsZero() {
				firstAfter = time.Now()
			}
		case code == 503 && json.Unmarshal([]byte(body), &e) == nil && e.Code == "unavailable":
			unavailable++
		default:
			t.Errorf("ingest %s: %d %s; want 202, or 503 while the database is down", id, code, body)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Two producers, paced: enough posts to land in the outage, few enough
	// that a loaded machine delivers them all in time.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					post()
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	proxy.Cut()
	time.Sleep(500 * time.Millisecond)
	// During the outage: a single post shows the whole answer.
	code, body, header := r.callHeader("POST", "/api/v1/events", `{"id":"evt-db-outage-probe","type":"order.created"}`)
	if code != 503 || header.Get("Retry-After") == "" {
		t.Errorf("ingest with the database down = %d (Retry-After %q) %s", code, header.Get("Retry-After"), body)
	}
	code, body = r.call("GET", "/readyz", "")
	var ready struct{ Down []string }
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 503 || len(ready.Down) != 1 || ready.Down[0] != "database" {
		t.Errorf("readyz with the database down = %d %s", code, body)
	}
	time.Sleep(time.Second)
	proxy.Restore()
	mu.Lock()
	restored = time.Now()
	mu.Unlock()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	t.Logf("%d posts: %d accepted, %d answered 503; first 202 %v after the database came back",
		n, len(accepted), unavailable, firstAfter.Sub(restored))
	if unavailable == 0 || len(accepted) == 0 {
		t.Fatalf("the outage did not land among the posts (%d accepted, %d 503)", len(accepted), unavailable)
	}
	ids := append([]string(nil), accepted...)
	mu.Unlock()
	// After the outage the api accepts again.
	if code, body := r.call("POST", "/api/v1/events", `{"id":"evt-db-outage-after","type":"order.created"}`); code != 202 {
		t.Fatalf("ingest once the database is back: %d %s", code, body)
	}
	r.waitAll(rc, append(ids, "evt-db-outage-after"), 3*time.Minute)
}
