package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/models"
)

// pauser pauses and resumes webhooks (internal/webhooks).
type pauser interface {
	Pause(ctx context.Context, w *models.Webhook, by string) (*models.Webhook, error)
	Resume(ctx context.Context, w *models.Webhook, by string) (*models.Webhook, int64, error)
}

type pauseAnswer struct {
	webhookJSON
	// Released counts the held deliveries a resume sent back to the outbox.
	Released *int64 `json:"released,omitempty"`
}

// pauseWebhook makes a webhook keep its events: nothing is sent, new
// deliveries are held and deliveries in progress hold at their next attempt.
// Pausing a paused webhook changes nothing.
func (s *server) pauseWebhook(c *gin.Context) {
	w, err := s.loadLiveWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	if w, err = s.webhooks.Pause(c.Request.Context(), w, principal(c)); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pauseAnswer{webhookJSON: toWebhookJSON(w, s.href(c, w.ID))})
}

// resumeWebhook sends a paused webhook's events again: its held deliveries
// go out oldest first, at the starter's admission pace.
func (s *server) resumeWebhook(c *gin.Context) {
	w, err := s.loadLiveWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	w, released, err := s.webhooks.Resume(c.Request.Context(), w, principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pauseAnswer{webhookJSON: toWebhookJSON(w, s.href(c, w.ID)), Released: &released})
}
