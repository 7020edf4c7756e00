package api_test

import (
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

// A rotation to a generated Ed25519 key shows its public key, never the
// signing key: not in the answer, not in reads, not in clear in the
// database.
func TestRotateToSigningKey(t *testing.T) {
	a := newAPI(t, store.Postgres)
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("asymmetric")).json(t)["id"].(string)
	for _, body := range []string{`{"keyType":"rsa"}`, `{"keyType":"ed25519","secretKey":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, `{"secretKey":"whsk_short"}`} {
		if r := a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", body); r.Status != 422 {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	r := a.do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", `{"keyType":"ed25519"}`)
	if r.Status != 200 {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	ans := r.json(t)
	public, _ := ans["publicKey"].(string)
	if !strings.HasPrefix(public, "whpk_") || ans["secretKey"] != nil || ans["previousSecretExpiresAt"] == nil {
		t.Fatalf("rotation answer: %s", r.Body)
	}
	stored, _ := a.store.GetWebhook(t.Context(), id)
	if !strings.HasPrefix(stored.SecretKey, "whsk_") {
		t.Fatalf("stored secret %.8s…, want a whsk_ key", stored.SecretKey)
	}
	privateB64 := strings.TrimPrefix(stored.SecretKey, "whsk_")
	read := a.do("GET", "/api/v1/webhooks/"+id, nil)
	cfg := read.json(t)["webhookConfig"].(map[string]any)
	if cfg["publicKey"] != public || cfg["secretKey"] != "********" {
		t.Fatalf("read: %v", cfg)
	}
	for where, text := range map[string]string{"answer": string(r.Body), "read": string(read.Body), "database": inspect(t, a).Dump()} {
		if strings.Contains(text, privateB64) {
			t.Errorf("the signing key shows in the %s", where)
		}
	}
	// The read document PUT back keeps the signing key.
	doc := read.json(t)
	doc["description"] = "kept"
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if again, _ := a.store.GetWebhook(t.Context(), id); again.SecretKey != stored.SecretKey {
		t.Fatal("PUT of the masked document changed the signing key")
	}
}
