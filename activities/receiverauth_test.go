package activities_test

import (
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/testcert"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestSendWithReceiverAuthentication: one attempt to a receiver that
// requires a client certificate and an OAuth2 token, signed with a whsk_
// key. The receiver gets all three; the activity's input and result, as
// Temporal stores them, hold none of the secrets.
func TestSendWithReceiverAuthentication(t *testing.T) {
	const clientSecret, accessToken = "client-secret-4b3a2918", "access-token-9c8d7e6f5a"
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, s, _ := r.BasicAuth(); s != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(tokens.Close)
	ca := testcert.NewCA(t)
	var got http.Header
	var body []byte
	rc := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+accessToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got = r.Header.Clone()
		body = make([]byte, r.ContentLength)
		_, _ = r.Body.Read(body)
		w.Write([]byte(`{"echo":"` + accessToken + `"}`))
	}))
	cert, key := ca.Client(t, "webhookd", time.Now().Add(time.Hour))
	signingKey := signing.NewSigningKey()
	f := newFixture(t, rc.URL, func(w *models.Webhook) {
		w.SecretKey, w.Headers = signingKey, nil
		w.ClientCertificate, w.ClientKey = cert, key
		w.Auth = &models.ReceiverAuth{Type: models.AuthOAuth2, TokenURL: tokens.URL, ClientID: "webhookd", ClientSecret: clientSecret}
	})
	roots := testcert.ServerPool(rc)
	f.sender.Poster.ClientWith = func(c *tls.Config) *http.Client {
		c.RootCAs = roots
		return safehttp.NewClient(safehttp.Options{AllowPrivate: true, TLS: c})
	}
	in := workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 1, Trigger: models.TriggerScheduled}
	res := f.send(t, 1)
	if res.Outcome != attempt.Success {
		t.Fatalf("attempt: %s %+v", res.Outcome, res.Attempt)
	}
	// v1a, checked with crypto/ed25519 as the Standard Webhooks spec says.
	pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(signing.PublicKey(signingKey), "whpk_"))
	sig, ok := strings.CutPrefix(got.Get("Webhook-Signature"), "v1a,")
	raw, _ := base64.StdEncoding.DecodeString(sig)
	signed := got.Get("Webhook-Id") + "." + got.Get("Webhook-Timestamp") + "." + string(body)
	if !ok || !ed25519.Verify(pub, []byte(signed), raw) {
		t.Fatalf("v1a does not verify: %v", got)
	}

	payloads, err := converter.GetDefaultDataConverter().ToPayloads(in, res)
	if err != nil {
		t.Fatal(err)
	}
	stored := payloads.String()
	if !strings.Contains(stored, "echo") || !strings.Contains(stored, f.delivery.ID) {
		t.Fatalf("control: the payloads hold the input and the response: %s", stored)
	}
	keyLine := strings.Split(key, "\n")[1]
	for name, secret := range map[string]string{"client secret": clientSecret, "access token": accessToken,
		"client key": keyLine, "signing key": strings.TrimPrefix(signingKey, "whsk_")} {
		if strings.Contains(stored, secret) {
			t.Errorf("the %s is in what Temporal stores: %s", name, stored)
		}
	}
}
