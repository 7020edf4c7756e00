package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The official Standard Webhooks libraries (Go and npm, v1.3.0) verify v1
// only, so v1a is checked here as the spec describes it, with crypto/ed25519,
// and against a vector computed outside Go (pyca/cryptography, the RFC 8032
// test 1 seed):
//
//	k = Ed25519PrivateKey.from_private_bytes(bytes.fromhex("9d61b1...7f60"))
//	"v1a," + b64encode(k.sign(b'evt_1.1705314600.{"event":"entityCreated","id":"evt_1"}'))
const (
	edSecret     = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg=="
	edSeedSecret = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
	edPublic     = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	edSig        = "v1a,2vHAeEYzcV8iaO9RRV9NJ7o+1Jl9krOyJhzl3fIRQZ1LFJv52xeUI7oQjEQcMj77v54UAEOFuXXCaWjg0NksCA=="
)

// verifyV1a is a receiver's check: the timestamp within five minutes, and
// some v1a entry of webhook-signature an Ed25519 signature, by the whpk_
// key, of "{webhook-id}.{webhook-timestamp}.{body}".
func verifyV1a(t *testing.T, publicKey string, body []byte, h http.Header) bool {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(publicKey, "whpk_"))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		t.Fatalf("public key %q: %v (%d bytes)", publicKey, err, len(raw))
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	signed := []byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body))
	for _, entry := range strings.Fields(h.Get("webhook-signature")) {
		sig, ok := strings.CutPrefix(entry, "v1a,")
		if !ok {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(sig); err == nil && ed25519.Verify(raw, signed, b) {
			return true
		}
	}
	return false
}

func TestAsymmetricFixedVector(t *testing.T) {
	for _, secret := range []string{edSecret, edSeedSecret} {
		if got := PublicKey(secret); got != edPublic {
			t.Errorf("PublicKey(%.12s…) = %s, want %s", secret, got, edPublic)
		}
		h := signed(t, []string{secret}, plainMsgID, time.Unix(plainUnix, 0), []byte(plainBody))
		if got := h.Values(HeaderStandardSignature); !slices.Equal(got, []string{edSig}) {
			t.Errorf("webhook-signature = %q, want [%s]", got, edSig)
		}
		// Only a shared secret makes an HMAC; a whsk_ key must not key one.
		if got := h.Values(HeaderSignature); got != nil {
			t.Errorf("X-Webhook-Signature = %q, want none for a whsk_ key", got)
		}
	}
}

func TestAsymmetricVerifiesAndRotates(t *testing.T) {
	body := []byte(`{"id":"evt_42","event":"entityUpdated"}`)
	newKey := NewSigningKey()
	if !strings.HasPrefix(newKey, "whsk_") || PublicKey(newKey) == edPublic || Check(newKey) != nil {
		t.Fatalf("NewSigningKey() = %.10s…, check %v", newKey, Check(newKey))
	}
	// A rotation from a shared secret to a signing key: during the grace
	// period both verify, each alone.
	h := signed(t, []string{newKey, vectorSecret}, "evt_42", time.Now(), body)
	if !verifyV1a(t, PublicKey(newKey), body, h) {
		t.Errorf("v1a by the new key does not verify: %v", h)
	}
	lib, _ := standardwebhooks.NewWebhook(vectorSecret)
	if err := lib.Verify(body, h); err != nil {
		t.Errorf("official library rejected the old secret's v1 beside v1a: %v", err)
	}
	if got := h.Values(HeaderSignature); len(got) != 1 {
		t.Errorf("X-Webhook-Signature = %q, want the old secret's only", got)
	}
	// Controls: another key, a tampered body, an old timestamp.
	if verifyV1a(t, edPublic, body, h) {
		t.Error("a key that signed nothing verified")
	}
	if verifyV1a(t, PublicKey(newKey), []byte(`{"id":"evt_43"}`), h) {
		t.Error("a tampered body verified")
	}
	old := signed(t, []string{newKey}, "evt_42", time.Now().Add(-time.Hour), body)
	if verifyV1a(t, PublicKey(newKey), body, old) {
		t.Error("a stale timestamp verified")
	}
	// Two signing keys during a rotation between them: two v1a entries.
	both := signed(t, []string{newKey, edSecret, edSeedSecret}, "evt_42", time.Now(), body)
	if n := strings.Count(both.Get(HeaderStandardSignature), "v1a,"); n != 2 {
		t.Errorf("webhook-signature %q: %d v1a entries, want 2 (the seed spelling is the same key)", both.Get(HeaderStandardSignature), n)
	}
	if !verifyV1a(t, edPublic, body, both) || !verifyV1a(t, PublicKey(newKey), body, both) {
		t.Error("each key of a rotation must verify alone")
	}
}

func TestAsymmetricBadKeys(t *testing.T) {
	seed, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(edSeedSecret, "whsk_"))
	mismatched := append(slices.Clone(seed), make([]byte, 32)...) // public half not the seed's
	for _, bad := range []string{"whsk_", "whsk_%%%", "whsk_" + base64.StdEncoding.EncodeToString([]byte("short")),
		"whsk_" + base64.StdEncoding.EncodeToString(mismatched)} {
		if Check(bad) == nil {
			t.Errorf("Check(%q) accepted a bad signing key", bad)
		}
		if PublicKey(bad) != "" {
			t.Errorf("PublicKey(%q) answered for a bad key", bad)
		}
		h := http.Header{}
		if err := Sign(h, []string{bad}, "evt_1", time.Now(), []byte(`{}`)); err == nil || len(h) != 0 {
			t.Errorf("Sign(%q) = %v, headers %v; want an error and no headers", bad, err, h)
		}
	}
	if PublicKey(vectorSecret) != "" || !slices.Equal(Shared([]string{edSecret, vectorSecret, ""}), []string{vectorSecret, ""}) {
		t.Error("a shared secret has no public key, and Shared keeps only shared secrets")
	}
}
