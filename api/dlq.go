package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/models"
)

// listDLQ lists failed deliveries: the dead-letter queue.
func (s *server) listDLQ(c *gin.Context) {
	q, err := deliveryQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	if q.Status != "" && q.Status != models.DeliveryFailed {
		fail(c, badRequest("status: the dead-letter queue holds failed deliveries only"))
		return
	}
	q.Status = models.DeliveryFailed
	q.WebhookID = c.Query("webhookId")
	s.listDeliveries(c, q)
}

func (s *server) replayDLQ(c *gin.Context) {
	fail(c, &Error{Status: http.StatusNotImplemented, Code: "not_implemented", Message: "bulk replay is not built yet"})
}
