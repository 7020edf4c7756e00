package e2e

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/workflows"
)

// TestEndToEndOAuth2AndV1a: a webhook with OAuth2 client credentials,
// rotated to a generated Ed25519 key, delivers through Temporal: the
// receiver gets one token for several deliveries and signatures that verify
// with the old secret (v1) and the public key (v1a) during the grace
// period, and neither the client secret, the token nor the signing key is
// in the delivery's workflow history.
func TestEndToEndOAuth2AndV1a(t *testing.T) {
	const clientSecret, accessToken = "e2e-client-secret-5d6c", "e2e-access-token-7f8e9d"
	var fetches atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, s, _ := r.BasicAuth(); id != "webhookd" || s != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(tokens.Close)
	st := rig.NewStack(t)
	rc := rig.NewRecorder(t, rig.Always(200))
	var hook map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": "authenticated", "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": rc.URL, "secretKey": rig.Secret, "timeout": 5,
			"auth": map[string]any{"type": "oauth2", "tokenUrl": tokens.URL, "clientId": "webhookd", "clientSecret": clientSecret}},
	}, &hook); code != 201 {
		t.Fatalf("create: %d %v", code, hook)
	}
	id := hook["id"].(string)
	var rotated struct {
		SecretKey string `json:"secretKey"`
		PublicKey string `json:"publicKey"`
	}
	if code := st.Call("POST", "/api/v1/webhooks/"+id+"/rotate-secret", map[string]any{"keyType": "ed25519", "graceSeconds": 600}, &rotated); code != 200 ||
		rotated.SecretKey != "" || !strings.HasPrefix(rotated.PublicKey, "whpk_") {
		t.Fatalf("rotate: %d %+v", code, rotated)
	}
	pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(rotated.PublicKey, "whpk_"))

	var deliveries []string
	for _, ev := range []string{"evt-auth-1", "evt-auth-2", "evt-auth-3"} {
		deliveries = append(deliveries, st.PostEvent(ev, "order.created").Deliveries[0].ID)
	}
	rc.WaitHits(t, 3, 20*time.Second)
	for i := range 3 {
		got := rc.Get(i)
		if got.Header.Get("Authorization") != "Bearer "+accessToken {
			t.Fatalf("request %d: Authorization %q", i, got.Header.Get("Authorization"))
		}
		if err := verifyStandard(t, rig.Secret, got); err != nil {
			t.Fatalf("request %d: the old secret's v1 during the grace period: %v", i, err)
		}
		if !verifyV1a(pub, got) {
			t.Fatalf("request %d: v1a does not verify: %v", i, got.Header)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d token fetches for 3 deliveries, want 1", n)
	}

	stored, _ := st.Store.GetWebhook(t.Context(), id)
	for _, d := range deliveries {
		st.WaitDelivery(d, "succeeded", 10*time.Second)
		var history strings.Builder
		it := st.Client.GetWorkflowHistory(t.Context(), workflows.DeliveryWorkflowID(d), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			history.WriteString(ev.String())
		}
		if !strings.Contains(history.String(), d) {
			t.Fatalf("control: the history of %s names it", d)
		}
		for name, secret := range map[string]string{"client secret": clientSecret, "access token": accessToken,
			"signing key": strings.TrimPrefix(stored.SecretKey, "whsk_")} {
			if strings.Contains(history.String(), secret) {
				t.Errorf("the %s is in the workflow history of %s", name, d)
			}
		}
	}
}

// verifyV1a checks a Standard Webhooks v1a signature with crypto/ed25519.
func verifyV1a(pub ed25519.PublicKey, r rig.Recorded) bool {
	signed := []byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(r.Body))
	for _, entry := range strings.Fields(r.Header.Get("webhook-signature")) {
		if sig, ok := strings.CutPrefix(entry, "v1a,"); ok {
			if raw, err := base64.StdEncoding.DecodeString(sig); err == nil && ed25519.Verify(pub, signed, raw) {
				return true
			}
		}
	}
	return false
}
