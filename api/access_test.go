package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/models"
)

// The access matrix: every route of the real router, called with every kind
// of credential, answers what the tenancy rules say, and a refused call
// changes nothing in the database. The rows come from the router itself, so
// a route added without a row here fails the test.

const (
	adminToken = "admin-token-for-the-access-matrix"
	tokenKey   = "tenant-token-key-for-the-access-matrix-0123456789"
	otherKey   = "another-key-nobody-configured-on-this-server-0123"
	tenantA    = "acme"
	tenantB    = "beta"
)

// credentials, in the order the matrix reports them.
var credentials = []string{"none", "malformed", "tampered", "expired", "wrongKey", "otherTenant", "readOnly", "ownTenant", "admin"}

// fixture is what every cell starts from: tenant A and tenant B each with a
// webhook, an event and a failed delivery (in its dead-letter queue), and a
// replay job of A's.
type fixture struct {
	hookA, hookB         *models.Webhook
	eventA, eventB       string
	deliveryA, deliveryB string
	jobA                 string
	typeA                *models.EventType
}

func (f *fixture) expand(path string) string {
	return strings.NewReplacer("{hookA}", f.hookA.ID, "{eventA}", f.eventA, "{deliveryA}", f.deliveryA, "{jobA}", f.jobA,
		"{typeA}", f.typeA.ID).Replace(path)
}

// secrets are strings of tenant A that tenant B must never see.
func (f *fixture) secrets() []string {
	return []string{f.hookA.ID, f.hookA.Name, f.eventA, f.deliveryA, f.jobA, f.typeA.ID, f.typeA.Name}
}

func seed(t *testing.T, a *testAPI) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{jobA: "0190a000-0000-7000-8000-00000000a0b0"}
	now := store.Now()
	for _, tc := range []struct {
		tenant, name string
		hook         **models.Webhook
		event, del   *string
	}{{tenantA, "orders-a", &f.hookA, &f.eventA, &f.deliveryA}, {tenantB, "orders-b", &f.hookB, &f.eventB, &f.deliveryB}} {
		w := &models.Webhook{ID: uuidFor(tc.name), TenantID: tc.tenant, Name: tc.name, WebhookType: models.WebhookGeneric,
			Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
			EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: "https://example.com/" + tc.name,
			SecretKey: "s3cret", CreatedAt: now, UpdatedAt: now}
		if err := a.store.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		ev := &models.Event{TenantID: tc.tenant, ID: "evt-" + tc.name, Type: "order.created", Timestamp: now, CreatedAt: now}
		d := models.Delivery{ID: uuidFor("d-" + tc.name), TenantID: tc.tenant, EventID: ev.ID, WebhookID: w.ID,
			EventType: ev.Type, Status: models.DeliveryFailed, Trigger: models.TriggerScheduled, AttemptCount: 7,
			CreatedAt: now, UpdatedAt: now}
		if _, _, _, err := a.store.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		*tc.hook, *tc.event, *tc.del = w, ev.ID, d.ID
	}
	addJob(a.runner, f.jobA, tenantA)
	for _, et := range []*models.EventType{
		{TenantID: tenantA, Name: "invoice.paid-a", Schema: json.RawMessage(`{"type":"object"}`)},
		{TenantID: tenantB, Name: "invoice.paid-b"},
		{TenantID: models.GlobalTenant, Name: "user.signed_up"},
	} {
		if err := a.store.CreateEventType(ctx, et); err != nil {
			t.Fatal(err)
		}
		if et.TenantID == tenantA {
			f.typeA = et
		}
	}
	return f
}

func uuidFor(s string) string {
	b := []byte(fmt.Sprintf("%-16s", s))[:16]
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// tokensFor builds every credential of the matrix.
func tokensFor(t *testing.T) map[string]string {
	t.Helper()
	now := time.Now()
	issuer, err := tenancy.NewTokens(nil, tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(ts *tenancy.Tokens, tenant string, readOnly bool) string {
		tok, _, err := ts.Mint(tenant, time.Hour, readOnly)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	past, _ := tenancy.NewTokens(func() time.Time { return now.Add(-3 * time.Hour) }, tokenKey)
	stranger, _ := tenancy.NewTokens(nil, otherKey)
	own := mint(issuer, tenantA, false)
	// B's token with its payload rewritten to name A: the signature no
	// longer matches.
	parts := strings.Split(mint(issuer, tenantB, false), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"beta"`, `"acme"`, 1)))
	return map[string]string{
		"none":        "",
		"malformed":   "Bearer not-a-token",
		"tampered":    "Bearer " + strings.Join(parts, "."),
		"expired":     "Bearer " + mint(past, tenantA, false),
		"wrongKey":    "Bearer " + mint(stranger, tenantA, false),
		"otherTenant": "Bearer " + mint(issuer, tenantB, false),
		"readOnly":    "Bearer " + mint(issuer, tenantA, true),
		"ownTenant":   "Bearer " + own,
		"admin":       "Bearer " + adminToken,
	}
}

// access rows: what each credential gets. A want string lists the statuses
// of the nine credentials in the order of `credentials`.
type accessRow struct {
	method, route string // as the router names it
	path          string // with {hookA}-style placeholders
	body          string
	want          string
}

const (
	unauth = "401 401 401 401 401 "
	// A's resource: B's token cannot see it, the read-only token may read.
	readA = unauth + "404 200 200 200"
	// A write to A's resource: B's token cannot see it, read-only refused.
	writeA = unauth + "404 403 %[1]d %[1]d"
	// A list: everyone authenticated gets one; B's holds none of A's rows.
	list = unauth + "200 200 200 200"
	// A body or query naming tenant A.
	namedA      = unauth + "403 403 %[1]d %[1]d"
	namedARead  = unauth + "403 200 200 200"
	adminOnlyTo = unauth + "403 403 403 %d"
	public      = "200 200 200 200 200 200 200 200 200"
)

func accessRows() []accessRow {
	w := func(pattern string, code int) string { return fmt.Sprintf(pattern, code) }
	hook := `{"tenantId":"acme","name":"%s","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"https://example.com/new"}}`
	return []accessRow{
		{"GET", "/healthz", "/healthz", "", public},
		{"GET", "/readyz", "/readyz", "", public},
		{"GET", "/metrics", "/metrics", "", public},
		{"GET", "/api/v1/healthz", "/api/v1/healthz", "", public},
		{"GET", "/api/v1/readyz", "/api/v1/readyz", "", public},
		{"GET", "/api/v1/metrics", "/api/v1/metrics", "", public},
		{"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", "", public},

		{"GET", "/api/v1/whoami", "/api/v1/whoami", "", list},
		{"POST", "/api/v1/webhooks", "/api/v1/webhooks", fmt.Sprintf(hook, "created"), w(namedA, 201)},
		{"GET", "/api/v1/webhooks", "/api/v1/webhooks", "", list},
		{"GET", "/api/v1/webhooks/name/:name", "/api/v1/webhooks/name/orders-a?tenantId=acme", "", namedARead},
		{"GET", "/api/v1/webhooks/:id", "/api/v1/webhooks/{hookA}", "", readA},
		{"PUT", "/api/v1/webhooks/:id", "/api/v1/webhooks/{hookA}", fmt.Sprintf(hook, "orders-a"), w(writeA, 200)},
		{"PATCH", "/api/v1/webhooks/:id", "/api/v1/webhooks/{hookA}", `[{"op":"add","path":"/description","value":"x"}]`, w(writeA, 200)},
		{"DELETE", "/api/v1/webhooks/:id", "/api/v1/webhooks/{hookA}", "", w(writeA, 200)},
		{"POST", "/api/v1/webhooks/:id/test", "/api/v1/webhooks/{hookA}/test", "", w(writeA, 200)},
		{"GET", "/api/v1/webhooks/:id/deliveries", "/api/v1/webhooks/{hookA}/deliveries", "", readA},
		{"GET", "/api/v1/webhooks/:id/stats", "/api/v1/webhooks/{hookA}/stats?window=7d", "", readA},
		{"POST", "/api/v1/webhooks/:id/pause", "/api/v1/webhooks/{hookA}/pause", "", w(writeA, 200)},
		{"POST", "/api/v1/webhooks/:id/resume", "/api/v1/webhooks/{hookA}/resume", "", w(writeA, 200)},
		{"POST", "/api/v1/webhooks/:id/rotate-secret", "/api/v1/webhooks/{hookA}/rotate-secret", `{"graceSeconds":60}`, w(writeA, 200)},
		{"POST", "/api/v1/webhooks/test", "/api/v1/webhooks/test", fmt.Sprintf(hook, "unsaved"), w(namedA, 200)},

		{"POST", "/api/v1/events", "/api/v1/events", `{"tenantId":"acme","id":"evt-new","type":"order.created"}`, w(namedA, 202)},
		{"POST", "/api/v1/events/batch", "/api/v1/events/batch", `{"events":[{"tenantId":"acme","id":"evt-b1","type":"order.created"}]}`, w(namedA, 202)},
		{"GET", "/api/v1/events", "/api/v1/events?type=order.created", "", list},
		{"GET", "/api/v1/events/:id", "/api/v1/events/{eventA}?tenantId=acme", "", namedARead},

		{"POST", "/api/v1/event-types", "/api/v1/event-types", `{"tenantId":"acme","name":"invoice.created"}`, w(namedA, 201)},
		{"GET", "/api/v1/event-types", "/api/v1/event-types", "", list},
		{"GET", "/api/v1/event-types/openapi.json", "/api/v1/event-types/openapi.json?tenantId=acme", "", namedARead},
		{"GET", "/api/v1/event-types/name/*name", "/api/v1/event-types/name/invoice.paid-a?tenantId=acme", "", namedARead},
		{"GET", "/api/v1/event-types/:id", "/api/v1/event-types/{typeA}", "", readA},
		{"PUT", "/api/v1/event-types/:id", "/api/v1/event-types/{typeA}", `{"name":"invoice.paid-a","description":"x"}`, w(writeA, 200)},
		{"PATCH", "/api/v1/event-types/:id", "/api/v1/event-types/{typeA}", `[{"op":"replace","path":"/deprecated","value":true}]`, w(writeA, 200)},
		{"DELETE", "/api/v1/event-types/:id", "/api/v1/event-types/{typeA}", "", w(writeA, 200)},

		{"GET", "/api/v1/deliveries/:id", "/api/v1/deliveries/{deliveryA}", "", readA},
		{"POST", "/api/v1/deliveries/:id/replay", "/api/v1/deliveries/{deliveryA}/replay", "", w(writeA, 202)},
		// deliveryA's webhook is unordered: nothing to skip (409), once the
		// caller may see and write it.
		{"POST", "/api/v1/deliveries/:id/skip", "/api/v1/deliveries/{deliveryA}/skip", "", w(writeA, 409)},

		{"GET", "/api/v1/dlq", "/api/v1/dlq", "", list},
		{"POST", "/api/v1/dlq/replay", "/api/v1/dlq/replay", `{"tenantId":"acme"}`, w(namedA, 202)},
		{"GET", "/api/v1/dlq/replay/:id", "/api/v1/dlq/replay/{jobA}", "", readA},

		{"GET", "/api/v1/tenants", "/api/v1/tenants", "", w(adminOnlyTo, 200)},
		{"DELETE", "/api/v1/tenants/:tenantId", "/api/v1/tenants/acme", "", w(adminOnlyTo, 200)},
		{"POST", "/api/v1/tenants/:tenantId/tokens", "/api/v1/tenants/acme/tokens", `{"ttlSeconds":600}`, w(adminOnlyTo, 201)},
	}
}

func TestAccessMatrix(t *testing.T) {
	rows := accessRows()
	// Every route the router serves has a row, and every row a route.
	probe := newAPI(t, store.Postgres, withToken(adminToken))
	served := map[string]bool{}
	for _, r := range routesOf(t, probe) {
		served[r] = true
	}
	listed := map[string]bool{}
	for _, r := range rows {
		key := r.method + " " + r.route
		listed[key] = true
		if !served[key] {
			t.Errorf("row %s: the router has no such route", key)
		}
	}
	for r := range served {
		if !listed[r] {
			t.Errorf("route %s has no row in the access matrix: add one", r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	tokens := tokensFor(t)
	ts, err := tenancy.NewTokens(nil, tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, store.Postgres, withToken(adminToken), withTokens(ts))
	a.token = "" // each call sets its own credential
	db := storetest.Inspect(t, a.dbURL)
	cells, held := 0, 0
	for _, row := range rows {
		want := strings.Fields(row.want)
		if len(want) != len(credentials) {
			t.Fatalf("%s %s: %d expectations for %d credentials", row.method, row.route, len(want), len(credentials))
		}
		for i, cred := range credentials {
			cells++
			t.Run(fmt.Sprintf("%s %s/%s", row.method, row.route, cred), func(t *testing.T) {
				// Every cell starts from the same rows (ids are fixed).
				db.Clear()
				a.t = t
				f := seed(t, a)
				before := db.Dump()
				headers := []string{}
				if tokens[cred] != "" {
					headers = append(headers, "Authorization", tokens[cred])
				}
				if row.method == "PATCH" {
					headers = append(headers, "Content-Type", "application/json-patch+json")
				}
				var body any
				if row.body != "" {
					body = row.body
				}
				r := a.do(row.method, f.expand(row.path), body, headers...)
				if fmt.Sprint(r.Status) != want[i] {
					t.Fatalf("%s %s as %s: %d, want %s: %s", row.method, row.path, cred, r.Status, want[i], r.Body)
				}
				if r.Status >= 400 {
					r.errorMessage(t) // the one error shape
					if after := db.Dump(); after != before {
						t.Fatalf("a refused call changed the database")
					}
				}
				if row.method == "GET" && r.Status < 400 {
					if after := db.Dump(); after != before {
						t.Fatalf("a read changed the database")
					}
				}
				if cred == "otherTenant" || r.Status == 401 || r.Status == 403 {
					for _, s := range f.secrets() {
						// An id the caller sent may be echoed back; the
						// answer is the same whether it exists or not.
						if strings.Contains(string(r.Body), s) && !strings.Contains(f.expand(row.path), s) {
							t.Fatalf("answer to %s reveals tenant A's %q: %s", cred, s, r.Body)
						}
					}
				}
				held++
			})
		}
	}
	t.Logf("access matrix: %d routes x %d credentials = %d cells; %d held", len(rows), len(credentials), cells, held)
}

func routesOf(t *testing.T, a *testAPI) []string {
	t.Helper()
	h, ok := a.handler.(interface{ Routes() gin.RoutesInfo })
	if !ok {
		t.Fatal("the API handler does not list its routes")
	}
	var out []string
	for _, r := range h.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	sort.Strings(out)
	return out
}
