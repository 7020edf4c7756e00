package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// BenchmarkConsolePages reads every console page of a webhook with 100,000
// deliveries (10% of them dead letters, one attempt each, 24 hours of
// stats) beside 49 quieter webhooks, on PostgreSQL, and reports each page's
// slowest server time (the Server-Timing header) over a few reads; the goal
// is 200 ms. WEBHOOKD_BENCH_CONSOLE_DELIVERIES changes the volume.
//
//	go test -run '^$' -bench ConsolePages -benchtime 1x ./e2e/bench/
func BenchmarkConsolePages(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("WEBHOOKD_BENCH_CONSOLE_DELIVERIES")); err == nil && v > 0 {
		n = v
	}
	st := rig.NewStackWith(b, rig.Options{})
	var busy map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{"name": "busy", "webhookType": "Generic",
		"eventFilters": []any{map[string]any{"eventType": "*"}}, "webhookConfig": map[string]any{"endpoint": "https://example.com/busy"}}, &busy); code != 201 {
		b.Fatalf("create: %d", code)
	}
	id := busy["id"].(string)
	seedStart := time.Now()
	db := storetest.Inspect(b, st.DBURL)
	db.Exec(`INSERT INTO webhooks (id, tenant_id, name, webhook_type, event_filters, endpoint, created_at, updated_at)
		SELECT gen_random_uuid(), 'default', 'quiet-' || i, 'Generic', '[{"eventType":"*"}]', 'https://example.com/q' || i, now(), now()
		FROM generate_series(1, 49) i`)
	db.Exec(fmt.Sprintf(`INSERT INTO events (id, type, timestamp, created_at)
		SELECT 'evt-' || i, 'order.' || (i %% 5), now(), now() - (%d - i) * interval '700 milliseconds'
		FROM generate_series(1, %d) i`, n, n))
	db.Exec(fmt.Sprintf(`INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count,
			last_status_code, last_duration_ms, created_at, updated_at, dispatched_at)
		SELECT gen_random_uuid(), e.id, '%s', e.type, CASE WHEN i %% 10 = 0 THEN 'failed' ELSE 'succeeded' END, 1,
			CASE WHEN i %% 10 = 0 THEN 500 ELSE 200 END, 40 + i %% 60, e.created_at, e.created_at, e.created_at
		FROM generate_series(1, %d) i JOIN events e ON e.id = 'evt-' || i`, id, n))
	db.Exec(`INSERT INTO attempts (delivery_id, number, trigger, request_url, request_headers, response_status, response_body,
			duration_ms, started_at, finished_at)
		SELECT d.id, 1, 'scheduled', 'https://example.com/busy', '{"Content-Type":"application/json"}', d.last_status_code, 'ok',
			d.last_duration_ms, d.created_at, d.created_at
		FROM deliveries d`)
	db.Exec(`INSERT INTO webhook_stats (webhook_id, bucket, attempts, successes, duration_ms_sum, h2, h3)
		SELECT w.id, date_trunc('hour', now()) - b * interval '5 minutes', 300, 270, 300 * 60, 150, 150
		FROM generate_series(288, 0, -1) b, webhooks w`)
	db.Exec(`ANALYZE`)
	b.Logf("seeded %d deliveries in %s", n, time.Since(seedStart).Round(time.Second))

	var some struct {
		Data []struct{ ID string }
	}
	st.Call("GET", "/api/v1/webhooks/"+id+"/deliveries?limit=1&status=failed", nil, &some)
	if len(some.Data) == 0 {
		b.Fatal("no dead letter seeded")
	}
	since := localMinute(time.Now().Add(-2 * time.Hour))
	pages := []struct{ name, path string }{
		{"webhooks", "/console/webhooks"},
		{"webhooks?status", "/console/webhooks?status=active"},
		{"webhook", "/console/webhooks/" + id},
		{"history", "/console/webhooks/" + id + "/deliveries"},
		{"history?status", "/console/webhooks/" + id + "/deliveries?status=failed"},
		{"history?eventType", "/console/webhooks/" + id + "/deliveries?eventType=order.3"},
		{"history?since", "/console/webhooks/" + id + "/deliveries?since=" + since},
		{"delivery", "/console/deliveries/" + some.Data[0].ID},
		{"dlq", "/console/dlq"},
		{"dlq?webhook", "/console/dlq?webhookId=" + id},
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	serverTime := regexp.MustCompile(`app;dur=([0-9.]+)`)
	read := func(path string) float64 {
		resp, err := client.Get(st.API.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		m := serverTime.FindStringSubmatch(resp.Header.Get("Server-Timing"))
		if resp.StatusCode != http.StatusOK || m == nil {
			b.Fatalf("GET %s: %d, Server-Timing %q", path, resp.StatusCode, resp.Header.Get("Server-Timing"))
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		return ms
	}
	read("/console/webhooks") // signs in (the API is open) and warms the caches
	b.ResetTimer()
	worst := 0.0
	for range b.N {
		for _, p := range pages {
			var times []float64
			for range 5 {
				times = append(times, read(p.path))
			}
			slices.Sort(times)
			b.Logf("%-18s median %6.1f ms, slowest %6.1f ms", p.name, times[2], times[4])
			worst = max(worst, times[4])
		}
	}
	b.ReportMetric(worst, "slowest-page-ms")
}

// localMinute is a time as the console's datetime-local filters send it.
func localMinute(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }
