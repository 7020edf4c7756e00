package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/signing"
)

type rotateRequest struct {
	// SecretKey is the new secret; absent, a whsec_ key is generated.
	SecretKey string `json:"secretKey,omitempty"`
	// GraceSeconds is how long the old secret keeps signing beside the new
	// one (default one day, at most seven).
	GraceSeconds *int64 `json:"graceSeconds,omitempty"`
}

type rotateAnswer struct {
	// SecretKey is shown here once; reads mask it.
	SecretKey               string      `json:"secretKey"`
	PreviousSecretExpiresAt *string     `json:"previousSecretExpiresAt,omitempty"`
	Webhook                 webhookJSON `json:"webhook"`
}

const (
	defaultGrace = 24 * time.Hour
	maxGrace     = 7 * 24 * time.Hour
)

// rotateSecret replaces a webhook's signing secret without breaking its
// receiver: during the grace period every request carries signatures by the
// new and the old secret (and by those earlier rotations replaced, until
// their own grace ends), so the receiver can switch at its own pace.
func (s *server) rotateSecret(c *gin.Context) {
	w, err := s.loadLiveWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in rotateRequest
	if _, err := decodeOptionalJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	grace := defaultGrace
	if in.GraceSeconds != nil {
		if *in.GraceSeconds < 0 || *in.GraceSeconds > int64(maxGrace/time.Second) {
			fail(c, invalid("graceSeconds", "must be from 0 to %d (7 days)", int64(maxGrace/time.Second)))
			return
		}
		grace = time.Duration(*in.GraceSeconds) * time.Second
	}
	secret := in.SecretKey
	switch {
	case secret == secretMask:
		fail(c, invalid("secretKey", "send the new secret itself, or leave it out to have one generated"))
		return
	case secret == "":
		secret = newSecret()
	default:
		if _, err := signing.Key(secret); err != nil {
			fail(c, invalid("secretKey", "%v", err))
			return
		}
	}
	saved, until, err := s.store.RotateSecret(c.Request.Context(), w, secret, grace, principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := rotateAnswer{SecretKey: secret, Webhook: toWebhookJSON(saved, s.href(c, saved.ID))}
	if until != nil {
		out.PreviousSecretExpiresAt = ptr(isoTime(*until))
	}
	c.Header("Cache-Control", "no-store") // a credential
	c.JSON(http.StatusOK, out)
}

// newSecret makes a Standard Webhooks secret: whsec_ and 32 random bytes in
// base64, which every Standard Webhooks and Svix library accepts as is.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; it would crash the program first
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
