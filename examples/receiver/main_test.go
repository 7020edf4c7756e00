package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/webhookd/webhookd/internal/signing"
)

// TestReceiverVerifiesWebhookdSignatures: a request signed as webhookd signs
// it is printed as verified; the same request with its body changed is
// refused.
func TestReceiverVerifiesWebhookdSignatures(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	h := handler(wh, &out)
	body := `{"id":"evt_1","version":"1","event":"order.created","data":{"orderId":42}}`
	post := func(sent string) int {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(sent))
		if err := signing.Sign(req.Header, []string{secret}, "evt_1", time.Now(), []byte(body)); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(body); code != http.StatusNoContent || !strings.Contains(out.String(), "verified evt_1") || !strings.Contains(out.String(), body) {
		t.Fatalf("signed request: %d, printed %q", code, out.String())
	}
	out.Reset()
	if code := post(strings.Replace(body, "42", "43", 1)); code != http.StatusUnauthorized || !strings.HasPrefix(out.String(), "REFUSED evt_1") {
		t.Fatalf("tampered request: %d, printed %q", code, out.String())
	}
}
