package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tenancy"
)

func TestCredentialHeadersAreMaskedAndKept(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := sampleWebhook("creds")
	hook["webhookConfig"].(map[string]any)["headers"] = map[string]any{"Authorization": "Bearer tok-secret-1", "X-API-Key": "key-secret-2", "X-Team": "data"}
	r := a.do("POST", "/api/v1/webhooks", hook)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	h := doc["webhookConfig"].(map[string]any)["headers"].(map[string]any)
	if h["Authorization"] != "********" || h["X-API-Key"] != "********" || h["X-Team"] != "data" {
		t.Fatalf("headers in a read: %v", h)
	}
	if strings.Contains(string(r.Body), "tok-secret-1") || strings.Contains(string(a.do("GET", "/api/v1/webhooks", nil).Body), "key-secret-2") {
		t.Fatal("a credential header came back in clear")
	}
	dump := inspect(t, a).Dump()
	for _, plain := range []string{"tok-secret-1", "key-secret-2", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if strings.Contains(dump, plain) {
			t.Fatalf("%s is stored in clear", plain)
		}
	}
	// The document read back (masks included) keeps the stored values.
	doc["description"] = "edited"
	if r := a.do("PUT", "/api/v1/webhooks/"+doc["id"].(string), doc); r.Status != 200 {
		t.Fatalf("PUT of the masked document: %d %s", r.Status, r.Body)
	}
	got, err := a.store.GetWebhook(t.Context(), doc["id"].(string))
	if err != nil || got.Headers["Authorization"] != "Bearer tok-secret-1" || got.Headers["X-API-Key"] != "key-secret-2" {
		t.Fatalf("after PUT: %+v %v", got.Headers, err)
	}
	doc = a.do("GET", "/api/v1/webhooks/"+doc["id"].(string), nil).json(t) // at its new version
	// The masks follow only an unchanged endpoint URL: whoever may edit
	// the webhook could otherwise point it at a place of their choice
	// (another host, or another path or query on a shared receiver host)
	// and collect the credentials there.
	cfg := doc["webhookConfig"].(map[string]any)
	endpoint := cfg["endpoint"].(string)
	for _, moved := range []string{
		"https://attacker.example.net/collect",
		strings.TrimRight(endpoint, "/") + "/v2",
		endpoint + "?to=me",
		strings.Replace(endpoint, "https://", "http://", 1),
		endpoint + "/",
	} {
		cfg["endpoint"] = moved
		if r := a.do("PUT", "/api/v1/webhooks/"+doc["id"].(string), doc); r.Status != 422 ||
			!strings.HasPrefix(r.errorMessage(t), "webhookConfig.headers.") {
			t.Fatalf("masks sent along to %s: %d %s", moved, r.Status, r.Body)
		}
	}
	// With the values themselves, the endpoint moves.
	cfg["endpoint"] = strings.TrimRight(endpoint, "/") + "/v2"
	cfg["headers"] = map[string]any{"Authorization": "Bearer tok-secret-3", "X-API-Key": "key-secret-4", "X-Team": "data"}
	if r := a.do("PUT", "/api/v1/webhooks/"+doc["id"].(string), doc); r.Status != 200 {
		t.Fatalf("a new path with the values themselves: %d %s", r.Status, r.Body)
	}
	doc = a.do("GET", "/api/v1/webhooks/"+doc["id"].(string), nil).json(t)
	// A mask for a header that was never stored is refused.
	doc["webhookConfig"].(map[string]any)["headers"].(map[string]any)["X-Auth-Token"] = "********"
	if r := a.do("PUT", "/api/v1/webhooks/"+doc["id"].(string), doc); r.Status != 422 ||
		!strings.HasPrefix(r.errorMessage(t), "webhookConfig.headers.X-Auth-Token") {
		t.Fatalf("mask for a new header: %d %s", r.Status, r.Body)
	}
}

func TestRotateSecret(t *testing.T) {
	a := newAPI(t, store.Postgres)
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("rotating")).json(t)["id"].(string)
	db := inspect(t, a)
	before := db.Dump()
	for _, c := range []struct{ body, field string }{
		{`{"graceSeconds": 604801}`, "graceSeconds"},
		{`{"graceSeconds": -1}`, "graceSeconds"},
		{`{"secretKey": "whsec_not base64!"}`, "secretKey"},
		{`{"secretKey": "whsec_"}`, "secretKey"},
		{`{"secretKey": "********"}`, "secretKey"},
	} {
		if r := a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", c.body); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field) {
			t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
		}
	}
	if db.Dump() != before {
		t.Fatal("a refused rotation changed the webhook")
	}
	r := a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil)
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	ans := r.json(t)
	secret, _ := ans["secretKey"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 || ans["previousSecretExpiresAt"] == nil {
		t.Fatalf("rotation answer: %s", r.Body)
	}
	w := ans["webhook"].(map[string]any)
	if cfg := w["webhookConfig"].(map[string]any); cfg["secretKey"] != "********" || cfg["previousSecretExpiresAt"] == nil {
		t.Fatalf("webhook after rotation: %v", cfg)
	}
	got, _ := a.store.GetWebhook(t.Context(), id)
	if got.SecretKey != secret || len(got.PreviousSecrets) != 1 || got.PreviousSecrets[0].Key != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("stored: %q / %+v", got.SecretKey, got.PreviousSecrets)
	}
	if strings.Contains(db.Dump(), strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the new secret is stored in clear")
	}
	// A given secret, without grace: the old one stops at once.
	r = a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", `{"secretKey":"plain-secret-value","graceSeconds":0}`)
	if r.Status != 200 || r.json(t)["previousSecretExpiresAt"] != nil || r.json(t)["secretKey"] != "plain-secret-value" {
		t.Fatalf("rotate without grace: %s", r.Body)
	}
	// The first secret still signs until its own expiry; three more
	// rotations make five signing secrets, and a fourth is refused.
	for i := range 4 {
		r = a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil)
		if i < 3 && r.Status != 200 {
			t.Fatalf("rotation %d: %d %s", i+2, r.Status, r.Body)
		}
	}
	if r.Status != 409 || !strings.Contains(r.errorMessage(t), "6 secrets sign at once, and a webhook has at most 5") {
		t.Fatalf("a rotation past five signing secrets: %d %s", r.Status, r.Body)
	}
}

func TestPayloadFormatAndRetrySchedule(t *testing.T) {
	a := newAPI(t, store.Postgres)
	hook := sampleWebhook("om")
	cfg := hook["webhookConfig"].(map[string]any)
	cfg["payloadFormat"], cfg["retrySchedule"] = "openmetadata", []any{"1m", "5m", "15m"}
	r := a.do("POST", "/api/v1/webhooks", hook)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	got := r.json(t)["webhookConfig"].(map[string]any)
	if got["payloadFormat"] != "openmetadata" || strings.Join(toStrings(got["retrySchedule"]), ",") != "1m,5m,15m" {
		t.Fatalf("read back: %v", got)
	}
	plain := a.do("POST", "/api/v1/webhooks", sampleWebhook("plain")).json(t)["webhookConfig"].(map[string]any)
	if plain["payloadFormat"] != nil || plain["retrySchedule"] != nil {
		t.Fatalf("defaults are left out: %v", plain)
	}
	db := inspect(t, a)
	before := db.Dump()
	for _, c := range []struct {
		edit  func(h, cfg map[string]any)
		field string
	}{
		{func(h, cfg map[string]any) { cfg["payloadFormat"] = "xml" }, "webhookConfig.payloadFormat"},
		{func(h, cfg map[string]any) { h["webhookType"], cfg["payloadFormat"] = "Slack", "openmetadata" }, "webhookConfig.payloadFormat"},
		{func(h, cfg map[string]any) { cfg["retrySchedule"] = []any{} }, "webhookConfig.retrySchedule"},
		{func(h, cfg map[string]any) { cfg["retrySchedule"] = []any{"1m", "5s"} }, "webhookConfig.retrySchedule[1]"},
		{func(h, cfg map[string]any) { cfg["retrySchedule"] = []any{"25h"} }, "webhookConfig.retrySchedule[0]"},
		{func(h, cfg map[string]any) { cfg["retrySchedule"] = []any{"10.5s"} }, "webhookConfig.retrySchedule[0]"},
		{func(h, cfg map[string]any) { cfg["retrySchedule"] = []any{"soon"} }, "webhookConfig.retrySchedule[0]"},
		{func(h, cfg map[string]any) {
			cfg["retrySchedule"] = []any{"1m", "1m", "1m", "1m", "1m", "1m", "1m", "1m", "1m", "1m", "1m"}
		}, "webhookConfig.retrySchedule"},
		{func(h, cfg map[string]any) {
			cfg["payloadFormat"], cfg["batching"] = "openmetadata", map[string]any{"enabled": true}
		}, "webhookConfig.batching.enabled"},
	} {
		h := sampleWebhook("bad")
		c.edit(h, h["webhookConfig"].(map[string]any))
		if r := a.do("POST", "/api/v1/webhooks", h); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field+":") {
			t.Errorf("want 422 naming %s, got %d %s", c.field, r.Status, r.Body)
		}
	}
	if db.Dump() != before {
		t.Fatal("refused webhooks were stored")
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestTestBeforeSave(t *testing.T) {
	a := newAPI(t, store.Postgres, withPrivateEndpoints(false))
	db := inspect(t, a)
	before := db.Dump()
	hook := sampleWebhook("unsaved")
	hook["testEvent"] = map[string]any{"eventType": "entityCreated", "data": map[string]any{"table": "orders"}}
	r := a.do("POST", "/api/v1/webhooks/test", hook)
	if r.Status != 200 || r.json(t)["attempt"] == nil || r.json(t)["delivery"].(map[string]any)["trigger"] != "test" {
		t.Fatalf("test before save: %d %s", r.Status, r.Body)
	}
	if got := a.tests.calls[len(a.tests.calls)-1]; got != "test unsaved https://example.com/hooks true" {
		t.Fatalf("dispatcher saw %q", got)
	}
	// Validated like a create, with the same address rules.
	for _, c := range []struct {
		edit  func(h map[string]any)
		field string
	}{
		{func(h map[string]any) { h["webhookConfig"].(map[string]any)["endpoint"] = "http://127.0.0.1:8080/x" }, "webhookConfig.endpoint"},
		{func(h map[string]any) { h["webhookType"] = "Carrier pigeon" }, "webhookType"},
		{func(h map[string]any) { h["testEvent"] = map[string]any{"eventType": "has spaces"} }, "testEvent.eventType"},
		// A sample is of a type the webhook takes: a test shows a real delivery.
		{func(h map[string]any) { h["testEvent"] = map[string]any{"eventType": "entityDeleted"} }, "testEvent.eventType"},
	} {
		h := sampleWebhook("unsaved")
		c.edit(h)
		if r := a.do("POST", "/api/v1/webhooks/test", h); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field+":") {
			t.Errorf("want 422 naming %s, got %d %s", c.field, r.Status, r.Body)
		}
	}
	if db.Dump() != before {
		t.Fatal("testing an unsaved webhook stored something")
	}
	// The stored-webhook test takes the same optional sample.
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("saved")).json(t)["id"].(string)
	if r := a.do("POST", "/api/v1/webhooks/"+id+"/test", `{"eventType":"entityCreated","data":{"n":1}}`); r.Status != 200 {
		t.Fatalf("test with a sample: %d %s", r.Status, r.Body)
	}
	for _, body := range []string{`{"eventType":"no spaces allowed"}`, `{"eventType":"entityDeleted"}`} {
		if r := a.do("POST", "/api/v1/webhooks/"+id+"/test", body); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), "eventType:") {
			t.Fatalf("bad sample type %s: %d %s", body, r.Status, r.Body)
		}
	}
}

// TestEndpointCredentialsAreEncryptedAndMasked: query values (Google
// Chat's key and token, Azure's sig, ...) are credentials: encrypted at
// rest, masked in every read (read-only tokens' too), kept when the read
// document comes back, and never carried to a changed URL.
// endpointCredentials is one URL with credentials in it: as sent, as
// reads show it, masked variants that changed (refused), and a new URL.
type endpointCredentials struct {
	name, real, masked, newURL string
	secrets                    []string
	changed                    []string
}

var endpointCredentialCases = []endpointCredentials{
	{name: "query", real: "https://chat.example.com/v1/spaces/AAA/messages?key=K-secret-1&token=T-secret%2B2",
		masked: "https://chat.example.com/v1/spaces/AAA/messages?key=********&token=********", secrets: []string{"K-secret-1", "T-secret"},
		changed: []string{
			"https://attacker.example/v1/spaces/AAA/messages?key=********&token=********",
			"https://chat.example.com/v1/spaces/BBB/messages?key=********&token=********",
			"https://chat.example.com/v1/spaces/AAA/messages?key=********&token=********&extra=1",
			"https://chat.example.com/v1/spaces/AAA/messages?key=%2A%2A%2A%2A%2A%2A%2A%2A&token=%2A%2A%2A%2A%2A%2A%2A%2A",
		},
		newURL: "https://chat.example.com/v1/spaces/BBB/messages?key=K-new&token=T-new"},
	{name: "slack path", real: "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/SlackPathSecret99",
		masked: "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/********", secrets: []string{"SlackPathSecret99"},
		changed: []string{
			"https://hooks.slack.com/services/T0123ABCD/B0999EFGH/********",
			"https://attacker.example/services/T0123ABCD/B0456EFGH/********",
		},
		newURL: "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/SlackPathSecretNew"},
	{name: "random-looking path segment", real: "https://receiver.example/in/8f2a6c1e-1b2c-4d5e-9f00-0a1b2c3d4e5f/events",
		masked: "https://receiver.example/in/********/events", secrets: []string{"8f2a6c1e-1b2c-4d5e-9f00-0a1b2c3d4e5f"},
		changed: []string{"https://receiver.example/out/********/events"},
		newURL:  "https://receiver.example/in/plain/events"},
}

// TestEndpointCredentialsAreEncryptedAndMasked: credentials in an endpoint
// URL (query values, user info, path tokens) are sealed at rest and masked
// in every read; the read document sent back keeps them; a changed masked
// URL is refused.
func TestEndpointCredentialsAreEncryptedAndMasked(t *testing.T) {
	tokens, err := tenancy.NewTokens(nil, tokenKey)
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, store.Postgres, withTokens(tokens))
	for i, c := range endpointCredentialCases {
		t.Run(c.name, func(t *testing.T) { checkEndpointCredentials(t, a, tokens, fmt.Sprintf("url-creds-%d", i), c) })
	}
}

func checkEndpointCredentials(t *testing.T, a *testAPI, tokens *tenancy.Tokens, name string, c endpointCredentials) {
	real, masked := c.real, c.masked
	hook := sampleWebhook(name)
	hook["tenantId"] = "acme"
	hook["webhookConfig"].(map[string]any)["endpoint"] = real
	r := a.do("POST", "/api/v1/webhooks", hook)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	id := doc["id"].(string)
	reader, _, err := tokens.Mint("acme", time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	reads := []response{r, a.do("GET", "/api/v1/webhooks/"+id, nil), a.do("GET", "/api/v1/webhooks/name/"+name+"?tenantId=acme", nil),
		a.do("GET", "/api/v1/webhooks", nil), a.do("GET", "/api/v1/webhooks/"+id, nil, "Authorization", "Bearer "+reader)}
	inJSON, _ := json.Marshal(masked) // as the API writes it (& escaped)
	leaks := func(text string) bool {
		for _, s := range c.secrets {
			if strings.Contains(text, s) {
				return true
			}
		}
		return false
	}
	for i, read := range reads {
		if read.Status/100 != 2 || leaks(string(read.Body)) || !strings.Contains(string(read.Body), string(inJSON)) {
			t.Fatalf("read %d: %d %s", i, read.Status, read.Body)
		}
	}
	if leaks(inspect(t, a).Dump()) {
		t.Fatal("the endpoint's credentials are stored in clear")
	}
	stored, err := a.store.GetWebhook(t.Context(), id)
	if err != nil || stored.Endpoint != real {
		t.Fatalf("the sender reads %q, %v", stored.Endpoint, err)
	}
	// The read document sent back keeps the real URL.
	doc["description"] = "edited"
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 || r.json(t)["webhookConfig"].(map[string]any)["endpoint"] != masked {
		t.Fatalf("PUT of the read document: %d %s", r.Status, r.Body)
	}
	if r := a.do("PATCH", "/api/v1/webhooks/"+id, `[{"op":"add","path":"/displayName","value":"Chat"}]`,
		"Content-Type", "application/json-patch+json"); r.Status != 200 {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	if got, _ := a.store.GetWebhook(t.Context(), id); got.Endpoint != real || got.Description != "edited" {
		t.Fatalf("after PUT and PATCH the sender reads %q", got.Endpoint)
	}
	// A masked URL that changed, or a mask a client re-encoded, is refused:
	// the values it hides would follow a URL the writer chose.
	doc = a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)
	cfg := doc["webhookConfig"].(map[string]any)
	for _, changed := range c.changed {
		cfg["endpoint"] = changed
		if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), "webhookConfig.endpoint:") {
			t.Fatalf("a changed masked URL %s: %d %s", changed, r.Status, r.Body)
		}
	}
	if got, _ := a.store.GetWebhook(t.Context(), id); got.Endpoint != real {
		t.Fatalf("a refused edit changed the endpoint to %q", got.Endpoint)
	}
	// New values replace the old ones.
	cfg["endpoint"] = c.newURL
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
		t.Fatalf("new credentials: %d %s", r.Status, r.Body)
	}
	if got, _ := a.store.GetWebhook(t.Context(), id); got.Endpoint != cfg["endpoint"] {
		t.Fatalf("the sender reads %q", got.Endpoint)
	}
}
