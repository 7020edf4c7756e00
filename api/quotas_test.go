package api_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tenancy"
)

// TestTenantQuotas: one tenant cannot create unbounded webhooks or post
// unbounded events; past its quota it gets 429 (with Retry-After when
// waiting helps), others are not affected, and the admin token is held to
// the tenant's quota too.
func TestTenantQuotas(t *testing.T) {
	tokens, err := tenancy.NewTokens(nil, tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, store.Postgres, withToken("admin-token"), withTokens(tokens), withQuotas(2, 1))
	acme, _, _ := tokens.Mint("acme", time.Hour, false)
	beta, _, _ := tokens.Mint("beta", time.Hour, false)
	as := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	for i := range 2 {
		if r := a.do("POST", "/api/v1/webhooks", sampleWebhook(fmt.Sprintf("a%d", i)), as(acme)...); r.Status != 201 {
			t.Fatalf("webhook %d: %d %s", i, r.Status, r.Body)
		}
	}
	third := sampleWebhook("a2")
	for who, headers := range map[string][]string{"acme's token": as(acme), "the admin": nil} {
		if who == "the admin" {
			third["tenantId"] = "acme"
		}
		r := a.do("POST", "/api/v1/webhooks", third, headers...)
		if r.Status != 429 || r.json(t)["code"] != "quota_exceeded" || !strings.Contains(r.errorMessage(t), "TENANT_MAX_WEBHOOKS") ||
			r.Header.Get("Retry-After") != "" {
			t.Fatalf("%s, past the webhook quota: %d %q %s", who, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	if r := a.do("POST", "/api/v1/webhooks", sampleWebhook("b0"), as(beta)...); r.Status != 201 {
		t.Fatalf("another tenant: %d %s", r.Status, r.Body)
	}

	batch := func(n int) map[string]any {
		evs := make([]any, n)
		for i := range evs {
			evs[i] = map[string]any{"type": "entityCreated"}
		}
		return map[string]any{"events": evs}
	}
	if r := a.do("POST", "/api/v1/events/batch", batch(500), as(acme)...); r.Status != 202 {
		t.Fatalf("a batch within the burst: %d %s", r.Status, r.Body)
	}
	// One event a second, 500 at once: the burst is spent.
	for _, try := range []struct {
		path string
		body any
		wait int
	}{{"/api/v1/events/batch", batch(200), 200}, {"/api/v1/events", map[string]any{"type": "entityCreated"}, 1}} {
		r := a.do("POST", try.path, try.body, as(acme)...)
		wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != 429 || r.json(t)["code"] != "quota_exceeded" || wait < try.wait || wait > try.wait+1 {
			t.Fatalf("%s past the event quota: %d Retry-After %q %s", try.path, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	if r := a.do("POST", "/api/v1/events", map[string]any{"type": "entityCreated"}, as(beta)...); r.Status != 202 {
		t.Fatalf("another tenant's event: %d %s", r.Status, r.Body)
	}
	events := a.do("GET", "/api/v1/events?limit=1000&tenantId=acme", nil, as("admin-token")...).json(t)["data"].([]any)
	if len(events) != 500 {
		t.Fatalf("acme has %d events stored; refused ones must store nothing", len(events))
	}
}
