package api

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/store"
)

// deliveryLoader reads a delivery with what its request is built from:
// its event (or batch) and its webhook, secrets opened.
type deliveryLoader interface {
	LoadDelivery(ctx context.Context, id string) (*store.DeliveryContext, error)
}

// requestBody is the body of a delivery's request, as GET
// /deliveries/{id}?include=body shows it.
type requestBody struct {
	// Body is the request body exactly as sent (credentials masked).
	Body *string `json:"requestBody,omitempty"`
	// AsOf is when the webhook's settings it was rendered with were last
	// changed: attempts that started later sent exactly this body.
	AsOf string `json:"requestBodyAsOf,omitempty"`
	// Error says why there is no body (a Custom template that does not
	// render).
	Error string `json:"requestBodyError,omitempty"`
}

// wantsBody reads ?include=: body, or nothing.
func wantsBody(c *gin.Context) (bool, error) {
	switch v := c.Query("include"); v {
	case "":
		return false, nil
	case "body":
		return true, nil
	default:
		return false, badRequest("include: must be body")
	}
}

// requestBodyOf renders the body a delivery's request carries: it is not
// stored, but rebuilt from the stored event and the webhook as the send
// activity builds it, so it is what was sent unless the webhook changed
// since (AsOf tells).
func (s *server) requestBodyOf(ctx context.Context, id string) (requestBody, error) {
	dc, err := s.store.LoadDelivery(ctx, id)
	if err != nil {
		return requestBody{}, err
	}
	wh := dc.Webhook
	r := deliver.Request{Webhook: &wh, TenantID: dc.Delivery.TenantID, Trigger: dc.Delivery.Trigger}
	if dc.Batch != nil {
		r.Batch, r.BatchID, r.BatchOpened = dc.Batch, dc.Delivery.ID, dc.Delivery.CreatedAt
	} else {
		r.Event = &dc.Event
	}
	out := requestBody{AsOf: isoTime(wh.UpdatedAt)}
	body, err := deliver.Body(r, time.Now())
	if err != nil {
		out.Error = err.Error()
		return out, nil
	}
	out.Body = &body
	return out, nil
}
