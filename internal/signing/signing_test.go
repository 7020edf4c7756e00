package signing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The expected values below were computed outside Go, so a bug shared by
// our code and the test helpers cannot hide:
//
//	python3 -c 'import hmac,hashlib,base64; k=base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
//	  print(base64.b64encode(hmac.new(k,b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}",hashlib.sha256).digest()))'
//	printf '%s' '{"event":"entityCreated","id":"evt_1"}' | openssl dgst -sha256 -hmac plain-secret
//	printf '%s' 'evt_1.1705314600.{"event":"entityCreated","id":"evt_1"}' | openssl dgst -sha256 -hmac plain-secret -binary | base64
//
// The first is also the published Standard Webhooks / Svix test vector.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID  = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorUnix   = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	plainSecret  = "plain-secret"
	plainMsgID   = "evt_1"
	plainUnix    = 1705314600
	plainBody    = `{"event":"entityCreated","id":"evt_1"}`
	plainHexSig  = "sha256=dbfe0f86f4fd7bc8356e57d425dd1100d165715cf5750076e17ca5483afe7b91"
	plainStdSigV = "v1,8ZsdKOGjP5tdMYkNNn0jBHkaDPoMi7bwKAPapzFCRBY="
)

func TestKey(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	tests := []struct {
		name    string
		secret  string
		want    []byte
		wantErr bool
	}{
		{"empty", "", nil, false},
		{"plain", "plain-secret", []byte("plain-secret"), false},
		{"plain utf8", "sécret", []byte("sécret"), false},
		{"whsec", vectorSecret, raw, false},
		{"whsec bad base64", "whsec_not*base64", nil, true},
		{"whsec empty key", "whsec_", nil, true},
		// Only the exact lower-case prefix marks a base64 secret.
		{"prefix is case-sensitive", "WHSEC_abc", []byte("WHSEC_abc"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Key(tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Key(%q) error = %v, wantErr %v", tt.secret, err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Fatalf("Key(%q) = %q, want %q", tt.secret, got, tt.want)
			}
		})
	}
}

func TestFixedVectors(t *testing.T) {
	key, err := Key(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := StandardSignature(key, vectorMsgID, time.Unix(vectorUnix, 0), []byte(vectorBody)); got != vectorSig {
		t.Errorf("StandardSignature(whsec vector) = %s, want %s", got, vectorSig)
	}

	key, err = Key(plainSecret)
	if err != nil {
		t.Fatal(err)
	}
	// A non-UTC location must not change the signed seconds.
	ts := time.Unix(plainUnix, 0).In(time.FixedZone("UTC+5", 5*3600))
	if got := StandardSignature(key, plainMsgID, ts, []byte(plainBody)); got != plainStdSigV {
		t.Errorf("StandardSignature(plain vector) = %s, want %s", got, plainStdSigV)
	}
	if got := HexSignature(key, []byte(plainBody)); got != plainHexSig {
		t.Errorf("HexSignature(plain vector) = %s, want %s", got, plainHexSig)
	}
}

// signed runs Sign with secrets (newest first) and returns the headers a
// receiver would see.
func signed(t *testing.T, secrets []string, msgID string, ts time.Time, body []byte) http.Header {
	t.Helper()
	h := http.Header{}
	if err := Sign(h, secrets, msgID, ts, body); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return h
}

func TestSignVerifiesWithStandardWebhooksLibrary(t *testing.T) {
	body := []byte(`{"id":"evt_42","version":"1","event":"entityUpdated","data":{}}`)
	now := time.Now() // Verify enforces its 5 minute tolerance

	tests := []struct {
		name   string
		secret string
		// libSecret is what a receiver configures in the official library,
		// which always base64-decodes (after an optional whsec_ prefix).
		libSecret string
	}{
		{"whsec secret", vectorSecret, vectorSecret},
		{"plain secret", plainSecret, base64.StdEncoding.EncodeToString([]byte(plainSecret))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := signed(t, []string{tt.secret}, "evt_42", now, body)
			wh, err := standardwebhooks.NewWebhook(tt.libSecret)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(body, h); err != nil {
				t.Fatalf("official library rejected our signature: %v (headers %v)", err, h)
			}
			if got := h.Get(standardwebhooks.HeaderWebhookID); got != "evt_42" {
				t.Errorf("webhook-id = %q, want evt_42", got)
			}
		})
	}
}

func TestVerificationFailsOnWrongKeyOrTamperedBody(t *testing.T) {
	body := []byte(`{"event":"entityCreated"}`)
	now := time.Now()
	h := signed(t, []string{vectorSecret}, "evt_1", now, body)

	right, err := standardwebhooks.NewWebhook(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := right.Verify(body, h); err != nil {
		t.Fatalf("control: right key and body must verify: %v", err)
	}
	wrong, err := standardwebhooks.NewWebhook(base64.StdEncoding.EncodeToString([]byte("some other key")))
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Verify(body, h); err == nil {
		t.Error("wrong key verified")
	}
	tampered := []byte(`{"event":"entityDeleted"}`)
	if err := right.Verify(tampered, h); err == nil {
		t.Error("tampered body verified")
	}
	// The same checks for X-Webhook-Signature, verified by hand as a
	// receiver without a library would.
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vectorSecret, "whsec_"))
	hexSig := h.Get(HeaderSignature)
	if !checkHex(t, raw, body, hexSig) {
		t.Fatalf("control: X-Webhook-Signature %q must verify", hexSig)
	}
	if checkHex(t, []byte("some other key"), body, hexSig) {
		t.Error("X-Webhook-Signature verified under a wrong key")
	}
	if checkHex(t, []byte(vectorSecret), body, hexSig) {
		t.Error("whsec_ secret was used verbatim instead of base64-decoded")
	}
	if checkHex(t, raw, tampered, hexSig) {
		t.Error("X-Webhook-Signature verified a tampered body")
	}
}

// checkHex verifies an X-Webhook-Signature value independently of
// HexSignature, with crypto/hmac as a receiver would.
func checkHex(t *testing.T, key, body []byte, header string) bool {
	t.Helper()
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		t.Fatalf("X-Webhook-Signature %q lacks sha256= prefix", header)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		t.Fatalf("X-Webhook-Signature %q is not hex: %v", header, err)
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func TestSignHexHeaderMatchesHandRolledHMAC(t *testing.T) {
	body := []byte(`{"a":1}`)
	raw, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	for secret, key := range map[string][]byte{
		plainSecret:  []byte(plainSecret),
		vectorSecret: raw,
	} {
		h := signed(t, []string{secret}, "evt_1", time.Unix(plainUnix, 0), body)
		if !checkHex(t, key, body, h.Get(HeaderSignature)) {
			t.Errorf("secret %q: X-Webhook-Signature %q does not verify by hand", secret, h.Get(HeaderSignature))
		}
		if got := h.Get(HeaderStandardTimestamp); got != "1705314600" {
			t.Errorf("secret %q: webhook-timestamp = %q, want 1705314600", secret, got)
		}
	}
}

func TestSignWithoutSecretSetsNothing(t *testing.T) {
	for _, secrets := range [][]string{nil, {}, {""}, {"", ""}} {
		h := http.Header{"Content-Type": {"application/json"}}
		if err := Sign(h, secrets, "evt_1", time.Now(), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 {
			t.Fatalf("Sign with secrets %q changed headers: %v", secrets, h)
		}
	}
}

func TestSignBadSecret(t *testing.T) {
	h := http.Header{}
	// A good new key must not go out alone when the old one is broken.
	err := Sign(h, []string{plainSecret, "whsec_%%%"}, "evt_1", time.Now(), []byte(`{}`))
	if err == nil {
		t.Fatal("Sign accepted an undecodable whsec_ secret")
	}
	if !strings.Contains(err.Error(), "evt_1") || !strings.Contains(err.Error(), "whsec_") {
		t.Errorf("error lacks context: %v", err)
	}
	if len(h) != 0 {
		t.Errorf("Sign set headers despite failing: %v", h)
	}
}
