package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/models"
)

// skipper settles a failed delivery of an ordered webhook so that its
// sequence moves on (internal/dispatch).
type skipper interface {
	Skip(ctx context.Context, deliveryID string) (*models.Delivery, error)
}

// sequenceReader says what an ordered delivery waits for (internal/store).
type sequenceReader interface {
	WaitingFor(ctx context.Context, d *models.Delivery) (string, error)
}

// sequenceJSON places a delivery of an ordered webhook in its sequence.
type sequenceJSON struct {
	// Key is the sequence's key ("" for the webhook-wide sequence, and for
	// events without the key's field).
	Key string `json:"key"`
	// WaitingFor is the earlier delivery of the sequence that must succeed
	// (or be skipped) before this one is sent.
	WaitingFor string `json:"waitingFor,omitempty"`
	// Skipped: the delivery failed and its sequence moved on.
	Skipped bool `json:"skipped,omitempty"`
}

// sequenceOf describes d's place in its sequence, nil when unordered.
func (s *server) sequenceOf(ctx context.Context, d *models.Delivery) (*sequenceJSON, error) {
	if d.SequenceKey == nil {
		return nil, nil
	}
	out := &sequenceJSON{Key: *d.SequenceKey, Skipped: d.SequenceSkipped}
	if d.Status == models.DeliveryPending || d.Status == models.DeliveryHeld {
		var err error
		if out.WaitingFor, err = s.store.WaitingFor(ctx, d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// skipDelivery settles a failed delivery of an ordered webhook: the next
// one of its sequence is sent. 409 for any other delivery.
func (s *server) skipDelivery(c *gin.Context) {
	if _, err := s.visibleDelivery(c); err != nil {
		fail(c, err)
		return
	}
	d, err := s.dispatcher.Skip(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, notFoundAs(err, "delivery %s not found", c.Param("id")))
		return
	}
	c.JSON(http.StatusOK, toDeliveryJSON(d))
}
