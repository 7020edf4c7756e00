package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/testcert"
)

// TestReceiverAuthMaskedEncryptedAndKept: OAuth2 and mTLS settings are
// validated when saved, their secrets encrypted at rest and masked in
// reads, and a read document sent back (PUT, PATCH) keeps them.
func TestReceiverAuthMaskedEncryptedAndKept(t *testing.T) {
	var logs lockedBuffer
	a := newAPI(t, store.Postgres, withLog(&logs))
	ca := testcert.NewCA(t)
	cert, key := ca.Client(t, "receiver-a", time.Now().Add(24*time.Hour))
	_, otherKey := ca.Client(t, "receiver-b", time.Now().Add(24*time.Hour))
	expired, expiredKey := ca.Client(t, "old", time.Now().Add(-time.Hour))
	const clientSecret = "oauth-client-secret-77aa"
	hook := func(auth, tls map[string]any, headers map[string]any) map[string]any {
		h := sampleWebhook("authenticated")
		cfg := h["webhookConfig"].(map[string]any)
		if auth != nil {
			cfg["auth"] = auth
		}
		if tls != nil {
			cfg["tls"] = tls
		}
		if headers != nil {
			cfg["headers"] = headers
		}
		return h
	}
	auth := func(secret string) map[string]any {
		return map[string]any{"type": "oauth2", "tokenUrl": "https://login.example.com/oauth2/token", "clientId": "webhookd",
			"clientSecret": secret, "scopes": []any{"webhooks.write"}}
	}
	tlsOf := func(c, k string) map[string]any { return map[string]any{"clientCertificate": c, "clientKey": k} }

	for _, c := range []struct {
		name, field string
		body        map[string]any
	}{
		{"unknown type", "webhookConfig.auth.type", hook(map[string]any{"type": "basic", "tokenUrl": "https://x.example/t", "clientId": "a", "clientSecret": "b"}, nil, nil)},
		{"not an http URL", "webhookConfig.auth.tokenUrl", hook(map[string]any{"type": "oauth2", "tokenUrl": "ftp://login.example.com/t", "clientId": "a", "clientSecret": "b"}, nil, nil)},
		{"no secret", "webhookConfig.auth.clientSecret", hook(auth(""), nil, nil)},
		{"mask without a stored secret", "webhookConfig.auth.clientSecret", hook(auth("********"), nil, nil)},
		{"Authorization beside auth", "webhookConfig.headers.Authorization", hook(auth(clientSecret), nil, map[string]any{"Authorization": "Bearer x"})},
		{"expired certificate", "webhookConfig.tls.clientCertificate", hook(nil, tlsOf(expired, expiredKey), nil)},
		{"not a certificate", "webhookConfig.tls.clientCertificate", hook(nil, tlsOf("hello", key), nil)},
		{"another certificate's key", "webhookConfig.tls.clientKey", hook(nil, tlsOf(cert, otherKey), nil)},
		{"no key", "webhookConfig.tls.clientKey", hook(nil, tlsOf(cert, ""), nil)},
	} {
		if r := a.do("POST", "/api/v1/webhooks", c.body); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field+":") {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}

	r := a.do("POST", "/api/v1/webhooks", hook(auth(clientSecret), tlsOf(cert, key), nil))
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	doc := r.json(t)
	id := doc["id"].(string)
	cfg := doc["webhookConfig"].(map[string]any)
	if cfg["auth"].(map[string]any)["clientSecret"] != "********" || cfg["tls"].(map[string]any)["clientKey"] != "********" ||
		cfg["tls"].(map[string]any)["clientCertificate"] != cert || cfg["tls"].(map[string]any)["expiresAt"] == nil {
		t.Fatalf("read: %v", cfg)
	}
	keyBody := strings.Split(key, "\n")[1] // a line of the key's base64
	reads := string(r.Body) + string(a.do("GET", "/api/v1/webhooks/"+id, nil).Body) + string(a.do("GET", "/api/v1/webhooks", nil).Body)
	for what, plain := range map[string]string{"client secret": clientSecret, "client key": keyBody} {
		if strings.Contains(reads, plain) {
			t.Errorf("the %s shows in a read", what)
		}
		if strings.Contains(inspect(t, a).Dump(), plain) {
			t.Errorf("the %s is stored in clear", what)
		}
	}

	if !strings.Contains(string(logs.Bytes()), "webhooks") {
		t.Fatal("control: the log records the statements")
	}
	if strings.Contains(string(logs.Bytes()), clientSecret) || strings.Contains(string(logs.Bytes()), keyBody) {
		t.Error("a secret is in the log")
	}
	// The read document sent back keeps both; PATCH too.
	doc["description"] = "edited"
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
		t.Fatalf("PUT of the read document: %d %s", r.Status, r.Body)
	}
	if r := a.do("PATCH", "/api/v1/webhooks/"+id, `[{"op":"replace","path":"/description","value":"patched"}]`, "Content-Type", "application/json-patch+json"); r.Status != 200 {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	got, err := a.store.GetWebhook(t.Context(), id)
	if err != nil || got.Auth == nil || got.Auth.ClientSecret != clientSecret || got.ClientKey != key || got.ClientCertificate != cert {
		t.Fatalf("stored after PUT and PATCH: %v %+v", err, got.Auth)
	}
	// The mask follows neither a new token URL nor a new certificate.
	doc = a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)
	cfg = doc["webhookConfig"].(map[string]any)
	cfg["auth"].(map[string]any)["tokenUrl"] = "https://collector.example.net/token"
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), "webhookConfig.auth.clientSecret:") {
		t.Errorf("masked secret to a new token URL: %d %s", r.Status, r.Body)
	}
	cfg["auth"].(map[string]any)["tokenUrl"] = "https://login.example.com/oauth2/token"
	other, _ := ca.Client(t, "receiver-c", time.Now().Add(time.Hour))
	cfg["tls"].(map[string]any)["clientCertificate"] = other
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), "webhookConfig.tls.clientKey:") {
		t.Errorf("masked key with a new certificate: %d %s", r.Status, r.Body)
	}
	// Leaving them out removes them.
	delete(cfg, "auth")
	delete(cfg, "tls")
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
		t.Fatalf("PUT without auth: %d %s", r.Status, r.Body)
	}
	if got, _ := a.store.GetWebhook(t.Context(), id); got.Auth != nil || got.ClientKey != "" || got.ClientCertificate != "" {
		t.Fatalf("still stored: %+v", got)
	}
}

// TestReceiverAuthMaskStaysWithTheEndpoint: a read document sent back with
// a new endpoint keeps neither the masked client secret nor the masked
// client key (one who cannot read them must not point them at another
// host), on PUT and on PATCH; sent in full, the change is taken.
func TestReceiverAuthMaskStaysWithTheEndpoint(t *testing.T) {
	a := newAPI(t, store.SQLite)
	ca := testcert.NewCA(t)
	cert, key := ca.Client(t, "receiver", time.Now().Add(24*time.Hour))
	for _, c := range []struct {
		name, field string
		cfg         map[string]any
	}{
		{"client key", "webhookConfig.tls.clientKey", map[string]any{"tls": map[string]any{"clientCertificate": cert, "clientKey": key}}},
		{"client secret", "webhookConfig.auth.clientSecret", map[string]any{"auth": map[string]any{"type": "oauth2",
			"tokenUrl": "https://login.example.com/oauth2/token", "clientId": "webhookd", "clientSecret": "oauth-client-secret-77aa"}}},
	} {
		hook := sampleWebhook("follows-" + strings.ReplaceAll(c.name, " ", "-"))
		for k, v := range c.cfg {
			hook["webhookConfig"].(map[string]any)[k] = v
		}
		r := a.do("POST", "/api/v1/webhooks", hook)
		if r.Status != 201 {
			t.Fatalf("%s: create: %d %s", c.name, r.Status, r.Body)
		}
		doc := r.json(t)
		id := doc["id"].(string)
		doc["webhookConfig"].(map[string]any)["endpoint"] = "https://elsewhere.example.net/hooks"
		if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field+":") {
			t.Errorf("%s: PUT of the masked value with a new endpoint: %d %s", c.name, r.Status, r.Body)
		}
		patch := `[{"op":"replace","path":"/webhookConfig/endpoint","value":"https://elsewhere.example.net/hooks"}]`
		if r := a.do("PATCH", "/api/v1/webhooks/"+id, patch, "Content-Type", "application/json-patch+json"); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), c.field+":") {
			t.Errorf("%s: PATCH of the endpoint alone: %d %s", c.name, r.Status, r.Body)
		}
		if got, err := a.store.GetWebhook(t.Context(), id); err != nil || got.Endpoint != "https://example.com/hooks" {
			t.Fatalf("%s: refused changes changed the webhook: %v", c.name, err) // not the webhook: it holds the key
		}
		// The value itself goes with the new endpoint.
		for k, v := range c.cfg {
			doc["webhookConfig"].(map[string]any)[k] = v
		}
		if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
			t.Errorf("%s: PUT with the value itself: %d %s", c.name, r.Status, r.Body)
		}
	}
}
