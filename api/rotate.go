package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/models"
)

// secretRotator rotates signing secrets (internal/webhooks).
type secretRotator interface {
	Rotate(ctx context.Context, w *models.Webhook, r webhooks.Rotation, by string) (webhooks.Rotated, error)
}

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

// rotateSecret replaces a webhook's signing secret without breaking its
// receiver: during the grace period every request carries signatures by the
// new and the old secret, so the receiver can switch at its own pace.
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
	r, err := s.webhooks.Rotate(c.Request.Context(), w, webhooks.Rotation{SecretKey: in.SecretKey, GraceSeconds: in.GraceSeconds}, principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := rotateAnswer{SecretKey: r.Secret, Webhook: toWebhookJSON(r.Webhook, s.href(c, r.Webhook.ID))}
	if r.PreviousExpiresAt != nil {
		out.PreviousSecretExpiresAt = ptr(isoTime(*r.PreviousExpiresAt))
	}
	c.Header("Cache-Control", "no-store") // a credential
	c.JSON(http.StatusOK, out)
}
