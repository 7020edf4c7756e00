package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes is the whole API surface, in one place.
func (s *server) routes(r *gin.Engine) {
	metrics := gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	for _, prefix := range []string{"", "/api/v1"} {
		r.GET(prefix+"/healthz", s.healthz)
		r.GET(prefix+"/readyz", s.readyz)
		r.GET(prefix+"/metrics", metrics)
	}

	v1 := r.Group("/api/v1", s.authenticate())
	v1.POST("/webhooks", s.createWebhook)
	v1.GET("/webhooks", s.listWebhooks)
	v1.GET("/webhooks/name/:name", s.getWebhookByName)
	v1.GET("/webhooks/:id", s.getWebhook)
	v1.PUT("/webhooks/:id", s.replaceWebhook)
	v1.PATCH("/webhooks/:id", s.patchWebhook)
	v1.DELETE("/webhooks/:id", s.deleteWebhook)
	v1.POST("/webhooks/:id/test", s.testWebhook)
	v1.GET("/webhooks/:id/deliveries", s.webhookDeliveries)

	v1.POST("/events", s.ingestEvent)
	v1.GET("/events/:id", s.getEvent)

	v1.GET("/deliveries/:id", s.getDelivery)
	v1.POST("/deliveries/:id/replay", s.replayDelivery)

	v1.GET("/dlq", s.listDLQ)
	v1.POST("/dlq/replay", s.replayDLQ)
	v1.GET("/dlq/replay/:id", s.dlqReplayJob)

	r.NoRoute(func(c *gin.Context) { fail(c, notFound("no route %s %s", c.Request.Method, c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		fail(c, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: c.Request.Method + " is not supported on " + c.Request.URL.Path})
	})
}
