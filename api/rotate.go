package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/models"
)

// secretRotator rotates signing secrets (internal/webhooks).
type secretRotator interface {
	Rotate(ctx context.Context, w *models.Webhook, r webhooks.Rotation, by string) (webhooks.Rotated, error)
}

type rotateRequest struct {
	// SecretKey is the new secret; absent, one is generated, of KeyType.
	SecretKey string `json:"secretKey,omitempty"`
	// KeyType is what to generate: hmac (a whsec_ secret, the default) or
	// ed25519 (a whsk_ signing key; the answer shows its whpk_ public key).
	KeyType string `json:"keyType,omitempty"`
	// GraceSeconds is how long the old secret keeps signing beside the new
	// one (default one day, at most seven).
	GraceSeconds *int64 `json:"graceSeconds,omitempty"`
}

type rotateAnswer struct {
	// SecretKey is shown here once; reads mask it. A whsk_ signing key is
	// never shown: receivers need only PublicKey.
	SecretKey               string      `json:"secretKey,omitempty"`
	PublicKey               string      `json:"publicKey,omitempty"`
	PreviousSecretExpiresAt *string     `json:"previousSecretExpiresAt,omitempty"`
	Webhook                 webhookJSON `json:"webhook"`
}

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
	r, err := s.webhooks.Rotate(c.Request.Context(), w, webhooks.Rotation{SecretKey: in.SecretKey, KeyType: in.KeyType, GraceSeconds: in.GraceSeconds}, principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := rotateAnswer{PublicKey: signing.PublicKey(r.Secret), Webhook: toWebhookJSON(r.Webhook, s.href(c, r.Webhook.ID))}
	if out.PublicKey == "" {
		out.SecretKey = r.Secret
	}
	if r.PreviousExpiresAt != nil {
		out.PreviousSecretExpiresAt = ptr(isoTime(*r.PreviousExpiresAt))
	}
	c.Header("Cache-Control", "no-store") // a credential
	c.Header("ETag", etag(r.Webhook))
	c.JSON(http.StatusOK, out)
}
