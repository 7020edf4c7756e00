package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestListEvents pages through the events list with every filter, on both
// backends: newest first, each event once, its deliveries counted by
// status, and a tenant token sees its tenant's events only.
func TestListEvents(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			a := tenantAPI(t, d)
			acme, beta := a.mint("acme", false), a.mint("beta", false)
			as := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
			hook := sampleWebhook("paid-only")
			hook["eventFilters"] = []any{map[string]any{"eventType": "order.paid"}}
			if r := a.do("POST", "/api/v1/webhooks", hook, as(acme)...); r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			start := time.Now().UTC()
			for i := range 7 {
				typ := "order.created"
				if i%2 == 1 {
					typ = "order.paid"
				}
				if r := a.do("POST", "/api/v1/events", map[string]any{"id": fmt.Sprintf("a-%d", i), "type": typ}, as(acme)...); r.Status != 202 {
					t.Fatalf("post: %d %s", r.Status, r.Body)
				}
				time.Sleep(2 * time.Millisecond) // distinct created_at, so newest first is defined
			}
			a.do("POST", "/api/v1/events", map[string]any{"id": "b-0", "type": "order.paid"}, as(beta)...)

			// Pages of three, newest first, every event once.
			var seen []string
			path := "/api/v1/events?limit=3"
			for pages := 0; ; pages++ {
				if pages > 5 {
					t.Fatal("paging does not end")
				}
				page := a.do("GET", path, nil, as(acme)...)
				if page.Status != 200 {
					t.Fatalf("GET %s: %d %s", path, page.Status, page.Body)
				}
				doc := page.json(t)
				for _, e := range doc["data"].([]any) {
					ev := e.(map[string]any)
					seen = append(seen, ev["id"].(string))
					if ev["tenantId"] != "acme" {
						t.Fatalf("acme's list holds %v", ev)
					}
					want := map[string]any{}
					if ev["type"] == "order.paid" {
						want = map[string]any{"pending": float64(1)}
					}
					if fmt.Sprint(ev["deliveries"]) != fmt.Sprint(want) {
						t.Errorf("%s deliveries = %v, want %v", ev["id"], ev["deliveries"], want)
					}
				}
				after, _ := doc["paging"].(map[string]any)["after"].(string)
				if after == "" {
					break
				}
				path = "/api/v1/events?limit=3&after=" + url.QueryEscape(after)
			}
			if got := strings.Join(seen, " "); got != "a-6 a-5 a-4 a-3 a-2 a-1 a-0" {
				t.Fatalf("pages = %s", got)
			}

			ids := func(path, tok string) string {
				t.Helper()
				r := a.do("GET", path, nil, as(tok)...)
				if r.Status != 200 {
					t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
				}
				var out []string
				for _, e := range r.json(t)["data"].([]any) {
					out = append(out, e.(map[string]any)["id"].(string))
				}
				return strings.Join(out, " ")
			}
			if got := ids("/api/v1/events?type=order.paid", acme); got != "a-5 a-3 a-1" {
				t.Errorf("type=order.paid: %s", got)
			}
			if got := ids("/api/v1/events", beta); got != "b-0" {
				t.Errorf("beta sees %s", got)
			}
			future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			if got := ids("/api/v1/events?since="+future, acme); got != "" {
				t.Errorf("since an hour ahead: %s", got)
			}
			if got := ids("/api/v1/events?until="+url.QueryEscape(start.Add(-time.Minute).Format(time.RFC3339)), acme); got != "" {
				t.Errorf("until before the first: %s", got)
			}
			if got := ids("/api/v1/events?tenantId=beta", adminToken); got != "b-0" {
				t.Errorf("the admin naming beta sees %s", got)
			}
			if got := ids("/api/v1/events?limit=100", adminToken); strings.Count(got, " ")+1 != 8 {
				t.Errorf("the admin sees %s", got)
			}

			for q, field := range map[string]string{
				"limit=0": "limit", "limit=x": "limit", "since=yesterday": "since", "until=2026-13-01": "until",
				"after=bogus": "after", "type=" + url.QueryEscape("order created"): "type", "tenantId=NOT%20A%20TENANT": "tenantId",
			} {
				r := a.do("GET", "/api/v1/events?"+q, nil, as(adminToken)...)
				if r.Status != 400 && r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), field) {
					t.Errorf("?%s: %d %s, want a 4xx naming %s", q, r.Status, r.Body, field)
				}
			}
			if r := a.do("GET", "/api/v1/events?tenantId=acme", nil, as(beta)...); r.Status != 403 {
				t.Errorf("beta naming acme: %d %s", r.Status, r.Body)
			}
		})
	}
}
