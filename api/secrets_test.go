package api_test

import (
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
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
	// The masks may not follow the endpoint to another host: whoever can
	// write could read the credentials there. Same host, new path: kept.
	cfg := doc["webhookConfig"].(map[string]any)
	endpoint := cfg["endpoint"].(string)
	cfg["endpoint"] = "https://attacker.example.net/collect"
	if r := a.do("PUT", "/api/v1/webhooks/"+doc["id"].(string), doc); r.Status != 422 ||
		!strings.HasPrefix(r.errorMessage(t), "webhookConfig.headers.") {
		t.Fatalf("masks sent to another host: %d %s", r.Status, r.Body)
	}
	cfg["endpoint"] = strings.TrimRight(endpoint, "/") + "/v2"
	if r := a.do("PUT", "/api/v1/webhooks/"+doc["id"].(string), doc); r.Status != 200 {
		t.Fatalf("masks with a new path on the same host: %d %s", r.Status, r.Body)
	}
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
	if got.SecretKey != secret || got.PreviousSecretKey != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("stored: %q / %q", got.SecretKey, got.PreviousSecretKey)
	}
	if strings.Contains(db.Dump(), strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the new secret is stored in clear")
	}
	// A given secret, without grace: the old one stops at once.
	r = a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", `{"secretKey":"plain-secret-value","graceSeconds":0}`)
	if r.Status != 200 || r.json(t)["previousSecretExpiresAt"] != nil || r.json(t)["secretKey"] != "plain-secret-value" {
		t.Fatalf("rotate without grace: %s", r.Body)
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
