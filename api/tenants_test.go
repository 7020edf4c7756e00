package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tenancy"
)

// tenantAPI is an API with an admin token and tenant tokens on.
func tenantAPI(t *testing.T, d store.Dialect) *testAPI {
	t.Helper()
	ts, err := tenancy.NewTokens(nil, tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	return newAPI(t, d, withToken(adminToken), withTokens(ts))
}

// as calls the API with the given bearer token instead of the admin's.
func (a *testAPI) as(token, method, path string, body any, headers ...string) response {
	a.t.Helper()
	saved := a.token
	a.token = token
	defer func() { a.token = saved }()
	return a.do(method, path, body, headers...)
}

func (a *testAPI) mint(tenant string, readOnly bool) string {
	a.t.Helper()
	r := a.do("POST", "/api/v1/tenants/"+tenant+"/tokens", map[string]any{"ttlSeconds": 600, "readOnly": readOnly})
	if r.Status != 201 {
		a.t.Fatalf("mint token for %s: %d %s", tenant, r.Status, r.Body)
	}
	m := r.json(a.t)
	if m["tenantId"] != tenant || m["readOnly"] != readOnly || r.Header.Get("Cache-Control") != "no-store" {
		a.t.Fatalf("token answer = %s (Cache-Control %q)", r.Body, r.Header.Get("Cache-Control"))
	}
	exp, err := time.Parse(time.RFC3339, m["expiresAt"].(string))
	if err != nil || exp.Sub(time.Now()) > 601*time.Second || exp.Sub(time.Now()) < 590*time.Second {
		a.t.Fatalf("expiresAt %v (%v), want in 10 minutes", m["expiresAt"], err)
	}
	return m["token"].(string)
}

func TestTenantsShareNamesAndEventIDsButNothingElse(t *testing.T) {
	for _, d := range []store.Dialect{store.Postgres, store.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			a := tenantAPI(t, d)
			acme, beta := a.mint("acme", false), a.mint("beta", false)
			// Both tenants may call a webhook "orders"; within one tenant the
			// name is taken.
			idOf := map[string]string{}
			for tenant, tok := range map[string]string{"acme": acme, "beta": beta} {
				r := a.as(tok, "POST", "/api/v1/webhooks", sampleWebhook("orders"))
				if r.Status != 201 || r.json(t)["tenantId"] != tenant {
					t.Fatalf("%s: create = %d %s", tenant, r.Status, r.Body)
				}
				idOf[tenant] = r.json(t)["id"].(string)
				if r := a.as(tok, "POST", "/api/v1/webhooks", sampleWebhook("orders")); r.Status != 409 {
					t.Fatalf("%s: a second live 'orders' = %d", tenant, r.Status)
				}
			}
			// By name, each tenant finds its own.
			if r := a.as(beta, "GET", "/api/v1/webhooks/name/orders", nil); r.Status != 200 || r.json(t)["id"] != idOf["beta"] {
				t.Fatalf("beta by name: %d %s", r.Status, r.Body)
			}
			if r := a.do("GET", "/api/v1/webhooks/name/orders?tenantId=acme", nil); r.Status != 200 || r.json(t)["id"] != idOf["acme"] {
				t.Fatalf("admin by name in acme: %d %s", r.Status, r.Body)
			}
			// Lists: a tenant sees its own; the admin sees all, or one tenant.
			if got := dataIDs(t, a.as(acme, "GET", "/api/v1/webhooks", nil)); len(got) != 1 || got[0] != idOf["acme"] {
				t.Fatalf("acme's list = %v", got)
			}
			if got := dataIDs(t, a.do("GET", "/api/v1/webhooks", nil)); len(got) != 2 {
				t.Fatalf("admin's list = %v", got)
			}
			if got := dataIDs(t, a.do("GET", "/api/v1/webhooks?tenantId=beta", nil)); len(got) != 1 || got[0] != idOf["beta"] {
				t.Fatalf("admin's list of beta = %v", got)
			}
			if r := a.do("GET", "/api/v1/webhooks?tenantId=no%20such", nil); r.Status != 422 || !strings.Contains(r.errorMessage(t), "tenantId") {
				t.Fatalf("bad tenantId filter = %d %s", r.Status, r.Body)
			}
			// The same event id in two tenants: two events, each idempotent
			// within its tenant, neither revealing the other.
			first := a.as(acme, "POST", "/api/v1/events", map[string]any{"id": "evt-1", "type": "entityCreated", "entityType": "table"})
			other := a.as(beta, "POST", "/api/v1/events", map[string]any{"id": "evt-1", "type": "entityCreated", "entityType": "table"})
			if first.Status != 202 || other.Status != 202 || other.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("same id in two tenants: %d %s / %d %s", first.Status, first.Body, other.Status, other.Body)
			}
			if string(first.Body) == string(other.Body) || !strings.Contains(string(other.Body), idOf["beta"]) ||
				strings.Contains(string(other.Body), idOf["acme"]) {
				t.Fatalf("beta's answer shows acme's deliveries: %s", other.Body)
			}
			again := a.as(acme, "POST", "/api/v1/events", map[string]any{"id": "evt-1", "type": "entityCreated"})
			if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
				t.Fatalf("repeat within acme: %s", again.Body)
			}
			if r := a.as(beta, "GET", "/api/v1/events/evt-1", nil); r.Status != 200 || r.json(t)["tenantId"] != "beta" {
				t.Fatalf("beta's evt-1: %d %s", r.Status, r.Body)
			}
			// The admin names the tenant of a per-tenant key; default otherwise.
			if r := a.do("GET", "/api/v1/events/evt-1", nil); r.Status != 404 {
				t.Fatalf("admin's evt-1 in the default tenant = %d", r.Status)
			}
			if r := a.do("GET", "/api/v1/events/evt-1?tenantId=acme", nil); r.Status != 200 || r.json(t)["tenantId"] != "acme" {
				t.Fatalf("admin's evt-1 in acme = %d %s", r.Status, r.Body)
			}
		})
	}
}

func dataIDs(t *testing.T, r response) []string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("list = %d %s", r.Status, r.Body)
	}
	var ids []string
	for _, x := range r.json(t)["data"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	return ids
}

func TestTenantIDNeverChanges(t *testing.T) {
	a := tenantAPI(t, store.Postgres)
	acme := a.mint("acme", false)
	r := a.as(acme, "POST", "/api/v1/webhooks", sampleWebhook("orders"))
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	id := doc["id"].(string)
	db := inspect(t, a)
	before := db.Dump()

	moved := copyMap(doc)
	moved["tenantId"] = "beta"
	// The admin holds every tenant: moving is refused as a read-only field.
	if r := a.do("PUT", "/api/v1/webhooks/"+id, moved); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), "tenantId:") {
		t.Fatalf("admin PUT moving tenants = %d %s", r.Status, r.Body)
	}
	patch := `[{"op":"replace","path":"/tenantId","value":"beta"}]`
	if r := a.do("PATCH", "/api/v1/webhooks/"+id, patch, "Content-Type", "application/json-patch+json"); r.Status != 422 ||
		!strings.HasPrefix(r.errorMessage(t), "tenantId:") {
		t.Fatalf("admin PATCH moving tenants = %d %s", r.Status, r.Body)
	}
	// A tenant token naming a tenant it does not hold is refused outright.
	if r := a.as(acme, "PUT", "/api/v1/webhooks/"+id, moved); r.Status != 403 {
		t.Fatalf("acme PUT naming beta = %d %s", r.Status, r.Body)
	}
	if r := a.as(acme, "PATCH", "/api/v1/webhooks/"+id, patch, "Content-Type", "application/json-patch+json"); r.Status != 403 {
		t.Fatalf("acme PATCH naming beta = %d %s", r.Status, r.Body)
	}
	if db.Dump() != before {
		t.Fatal("a refused move changed the database")
	}
	// Sending the document back as read (tenantId included) is fine.
	if r := a.as(acme, "PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 || r.json(t)["tenantId"] != "acme" {
		t.Fatalf("PUT of the read document = %d %s", r.Status, r.Body)
	}
}

func copyMap(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestTenantTokenMinting(t *testing.T) {
	a := tenantAPI(t, store.Postgres)
	for _, c := range []struct {
		path, body, want string
		status           int
	}{
		{"/api/v1/tenants/acme/tokens", `{"ttlSeconds":10}`, "ttlSeconds", 422},
		{"/api/v1/tenants/acme/tokens", `{"ttlSeconds":99999999}`, "ttlSeconds", 422},
		// Would wrap around to one hour if multiplied before the check.
		{"/api/v1/tenants/acme/tokens", `{"ttlSeconds":18446747674}`, "ttlSeconds", 422},
		{"/api/v1/tenants/acme/tokens", `{"ttl":60}`, "ttl: unknown field", 400},
		{"/api/v1/tenants/-bad-/tokens", ``, "tenantId", 400},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := a.do("POST", c.path, body)
		if r.Status != c.status || !strings.Contains(r.errorMessage(t), c.want) {
			t.Errorf("%s %s = %d %s, want %d naming %s", c.path, c.body, r.Status, r.Body, c.status, c.want)
		}
	}
	// No body at all: defaults (one hour, read-write).
	r := a.do("POST", "/api/v1/tenants/acme/tokens", nil)
	if r.Status != 201 || r.json(t)["readOnly"] != false {
		t.Fatalf("default token: %d %s", r.Status, r.Body)
	}
	// A read-only token reads but never writes.
	ro := a.mint("acme", true)
	if r := a.as(ro, "GET", "/api/v1/webhooks", nil); r.Status != 200 {
		t.Fatalf("read-only list = %d", r.Status)
	}
	if r := a.as(ro, "POST", "/api/v1/webhooks", sampleWebhook("x")); r.Status != 403 {
		t.Fatalf("read-only create = %d", r.Status)
	}
	// Without a signing key, tenant tokens are off.
	off := newAPI(t, store.Postgres, withToken(adminToken))
	if r := off.do("POST", "/api/v1/tenants/acme/tokens", nil); r.Status != 503 || !strings.Contains(r.errorMessage(t), "TENANT_TOKEN_KEY") {
		t.Fatalf("minting without a key = %d %s", r.Status, r.Body)
	}
}

func TestTenantListAndDelete(t *testing.T) {
	a := tenantAPI(t, store.Postgres)
	acme, beta := a.mint("acme", false), a.mint("beta", false)
	for i, tok := range []string{acme, acme, beta} {
		if r := a.as(tok, "POST", "/api/v1/webhooks", sampleWebhook("hook-"+string(rune('a'+i)))); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	if r := a.as(acme, "POST", "/api/v1/events", map[string]any{"id": "e1", "type": "entityCreated", "entityType": "table"}); r.Status != 202 {
		t.Fatalf("event: %d %s", r.Status, r.Body)
	}
	r := a.do("GET", "/api/v1/tenants?limit=1", nil)
	page := r.json(t)
	data := page["data"].([]any)
	if r.Status != 200 || len(data) != 1 || data[0].(map[string]any)["tenantId"] != "acme" {
		t.Fatalf("tenants page 1: %s", r.Body)
	}
	first := data[0].(map[string]any)
	if first["webhooks"] != float64(2) || first["deliveries"].(map[string]any)["pending"] != float64(2) ||
		first["deliveries"].(map[string]any)["failed"] != float64(0) {
		t.Fatalf("acme's counts: %v", first)
	}
	after := page["paging"].(map[string]any)["after"].(string)
	r = a.do("GET", "/api/v1/tenants?limit=1&after="+after, nil)
	if data := r.json(t)["data"].([]any); len(data) != 1 || data[0].(map[string]any)["tenantId"] != "beta" {
		t.Fatalf("tenants page 2: %s", r.Body)
	}

	r = a.do("DELETE", "/api/v1/tenants/acme", nil)
	if r.Status != 200 {
		t.Fatalf("delete acme: %d %s", r.Status, r.Body)
	}
	if got := r.json(t); got["webhooks"] != float64(2) || got["events"] != float64(1) || got["deliveries"] != float64(2) {
		t.Fatalf("delete answer: %s", r.Body)
	}
	if dump := inspect(t, a).Dump(); strings.Contains(dump, `"acme"`) || !strings.Contains(dump, `"beta"`) {
		t.Fatalf("rows of acme remain (or beta's are gone): %s", dump)
	}
	if r := a.do("DELETE", "/api/v1/tenants/acme", nil); r.Status != 404 {
		t.Fatalf("deleting it again = %d", r.Status)
	}
	// The tenant's token still verifies (it is signed, not stored) but sees
	// nothing.
	if got := dataIDs(t, a.as(acme, "GET", "/api/v1/webhooks", nil)); len(got) != 0 {
		t.Fatalf("acme after deletion lists %v", got)
	}
}

func TestWhoamiDescribesTheCredential(t *testing.T) {
	a := tenantAPI(t, store.Postgres)
	if got := a.do("GET", "/api/v1/whoami", nil).json(t); got["role"] != "admin" || got["tenantId"] != nil {
		t.Fatalf("admin: %v", got)
	}
	ro := a.mint("acme", true)
	got := a.as(ro, "GET", "/api/v1/whoami", nil).json(t)
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(got["expiresAt"]))
	if got["role"] != "tenant" || got["tenantId"] != "acme" || got["readOnly"] != true || err != nil || time.Until(exp) > 601*time.Second {
		t.Fatalf("read-only tenant token: %v", got)
	}
	if r := a.as("not-a-token", "GET", "/api/v1/whoami", nil); r.Status != 401 {
		t.Fatalf("a bad token: %d", r.Status)
	}
}
