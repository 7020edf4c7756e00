package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func TestSecretsAreEncryptedAtRest(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	w := newWebhook("sealed")
	w.SecretKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	w.Headers = map[string]string{"Authorization": "Bearer tok-123456", "X-API-Key": "key-abcdef", "X-Team": "data"}
	w.Endpoint = "https://chat.example.com/v1/spaces/A/messages?key=url-key-1&token=url-token-2"
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	db := storetest.Inspect(t, url)
	dump := db.Dump()
	if !strings.Contains(dump, "https://sealed.invalid/chat.example.com/v1/spaces/A/messages?key=********&token=********") {
		t.Fatalf("the endpoint column should hold the masked URL: %s", dump)
	}
	for _, plain := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "tok-123456", "key-abcdef", "url-key-1", "url-token-2"} {
		if strings.Contains(dump, plain) {
			t.Fatalf("%q is stored in the clear: %s", plain, dump)
		}
	}
	if !strings.Contains(dump, `"X-Team": "data"`) && !strings.Contains(dump, `"X-Team":"data"`) {
		t.Fatalf("an ordinary header must stay readable: %s", dump)
	}
	got, err := s.GetWebhook(ctx, w.ID)
	if err != nil || got.SecretKey != w.SecretKey || got.Headers["Authorization"] != "Bearer tok-123456" || got.Headers["X-API-Key"] != "key-abcdef" ||
		got.Endpoint != w.Endpoint || got.EndpointSealed != "" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	// A ciphertext copied into another webhook's row does not decrypt there.
	other := newWebhook("other")
	if err := s.CreateWebhook(ctx, other); err != nil {
		t.Fatal(err)
	}
	db.Exec(`UPDATE webhooks SET secret_key = (SELECT secret_key FROM webhooks WHERE name = 'sealed') WHERE name = 'other'`)
	if _, err := s.GetWebhook(ctx, other.ID); err == nil {
		t.Fatal("a secret copied from another webhook was accepted")
	}
}

func TestEncryptSecretsCoversLegacyRowsAndRotation(t *testing.T) {
	_, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	// A store from before encryption writes plain secrets.
	plainStore, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer plainStore.Close()
	legacy := newWebhook("legacy")
	legacy.Headers = map[string]string{"Authorization": "Bearer legacy-token"}
	legacy.Endpoint = "https://example.com/in?code=legacy-url-code"
	legacy.Auth = &models.ReceiverAuth{Type: models.AuthOAuth2, TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: "legacy-client-secret"}
	legacy.ClientCertificate, legacy.ClientKey = "-----BEGIN CERTIFICATE-----", "legacy-client-key"
	if err := plainStore.CreateWebhook(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	oldSpec, _ := secrets.GenerateSpec("k1")
	newSpec, _ := secrets.GenerateSpec("k2")
	oldKeys, _ := secrets.ParseKeyring(oldSpec)
	s, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.UseKeyring(oldKeys)
	if got, err := s.GetWebhook(ctx, legacy.ID); err != nil || got.SecretKey != "s3cret" {
		t.Fatalf("a plain legacy secret must still read: %+v %v", got, err)
	}
	if n, err := s.EncryptSecrets(ctx, false); err != nil || n != 1 {
		t.Fatalf("encrypt legacy: %d %v", n, err)
	}
	db := storetest.Inspect(t, url)
	if dump := db.Dump(); strings.Contains(dump, "legacy-token") || strings.Contains(dump, "legacy-url-code") ||
		strings.Contains(dump, "legacy-client-secret") || strings.Contains(dump, "legacy-client-key") ||
		strings.Contains(dump, `"secret_key":"s3cret"`) || !strings.Contains(dump, "enc:v1:k1:") {
		t.Fatalf("after encrypting: %s", dump)
	}
	if n, _ := s.EncryptSecrets(ctx, false); n != 0 {
		t.Fatalf("a second pass rewrote %d webhooks", n)
	}
	// Rotate: the new key first, the old one still readable.
	rotated, _ := secrets.ParseKeyring(newSpec + "," + oldSpec)
	s.UseKeyring(rotated)
	if n, err := s.EncryptSecrets(ctx, true); err != nil || n != 1 {
		t.Fatalf("re-encrypt: %d %v", n, err)
	}
	if dump := db.Dump(); strings.Contains(dump, "enc:v1:k1:") || !strings.Contains(dump, "enc:v1:k2:") {
		t.Fatalf("after re-encrypting, values under k1 remain: %s", dump)
	}
	newOnly, _ := secrets.ParseKeyring(newSpec)
	s.UseKeyring(newOnly) // the old key retired
	if got, err := s.GetWebhook(ctx, legacy.ID); err != nil || got.SecretKey != "s3cret" || got.Headers["Authorization"] != "Bearer legacy-token" ||
		got.Endpoint != "https://example.com/in?code=legacy-url-code" || got.Auth == nil || got.Auth.ClientSecret != "legacy-client-secret" ||
		got.ClientKey != "legacy-client-key" || got.ClientCertificate != "-----BEGIN CERTIFICATE-----" {
		t.Fatalf("after retiring k1: %+v %v", got, err)
	}
}
