package signing

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkSign compares one request's signing with a shared secret (v1
// and X-Webhook-Signature, two HMACs) and with a whsk_ key (v1a, one
// Ed25519 signature), for a 1 KB body.
func BenchmarkSign(b *testing.B) {
	body := make([]byte, 1024)
	for name, secret := range map[string]string{"hmac": vectorSecret, "ed25519": edSecret} {
		b.Run(name, func(b *testing.B) {
			ts := time.Unix(plainUnix, 0)
			for b.Loop() {
				if err := Sign(http.Header{}, []string{secret}, "evt_1", ts, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
