package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes is the whole API surface, in one place; openapi.json describes it
// (the api tests fail on a route it lacks). Every /api/v1 route but the
// probes, metrics and the OpenAPI document needs a credential; tenant tokens
// see their own tenant's resources only (others answer 404), read-only
// tokens cannot write, and /tenants is admin-only.
func (s *server) routes(r *gin.Engine) {
	metrics := gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	for _, prefix := range []string{"", "/api/v1"} {
		r.GET(prefix+"/healthz", s.healthz)
		r.GET(prefix+"/readyz", s.readyz)
		r.GET(prefix+"/metrics", metrics)
	}
	r.GET("/api/v1/openapi.json", openAPI) // the API's description, open like the probes

	v1 := r.Group("/api/v1", refuseCrossOrigin(), jsonBodies(), s.authenticate(), readOnlyRefusesWrites())
	v1.GET("/whoami", s.whoami)
	v1.POST("/webhooks", s.createWebhook)
	v1.POST("/webhooks/test", s.testUnsavedWebhook)
	v1.GET("/webhooks", s.listWebhooks)
	v1.GET("/webhooks/name/:name", s.getWebhookByName)
	v1.GET("/webhooks/:id", s.getWebhook)
	v1.PUT("/webhooks/:id", s.replaceWebhook)
	v1.PATCH("/webhooks/:id", s.patchWebhook)
	v1.DELETE("/webhooks/:id", s.deleteWebhook)
	v1.POST("/webhooks/:id/test", s.testWebhook)
	v1.GET("/webhooks/:id/deliveries", s.webhookDeliveries)
	v1.GET("/webhooks/:id/stats", s.webhookStats)
	v1.POST("/webhooks/:id/pause", s.pauseWebhook)
	v1.POST("/webhooks/:id/resume", s.resumeWebhook)
	v1.POST("/webhooks/:id/rotate-secret", s.rotateSecret)

	v1.GET("/events", s.listEvents)
	v1.POST("/events", s.traceIngest, s.ingestEvent)
	v1.POST("/events/batch", s.traceIngest, s.ingestEventBatch)
	v1.GET("/events/:id", s.getEvent)

	v1.GET("/event-types", s.listEventTypes)
	v1.POST("/event-types", s.createEventType)
	v1.GET("/event-types/openapi.json", s.exportEventTypes)
	v1.GET("/event-types/name/*name", s.getEventTypeByName) // names may hold slashes
	v1.GET("/event-types/:id", s.getEventType)
	v1.PUT("/event-types/:id", s.replaceEventType)
	v1.PATCH("/event-types/:id", s.patchEventType)
	v1.DELETE("/event-types/:id", s.deleteEventType)

	v1.GET("/deliveries/:id", s.getDelivery)
	v1.POST("/deliveries/:id/replay", s.replayDelivery)
	v1.POST("/deliveries/:id/skip", s.skipDelivery)

	v1.GET("/dlq", s.listDLQ)
	v1.POST("/dlq/replay", s.replayDLQ)
	v1.GET("/dlq/replay/:id", s.dlqReplayJob)

	admin := v1.Group("", adminOnly())
	admin.GET("/tenants", s.listTenants)
	admin.DELETE("/tenants/:tenantId", s.deleteTenant)
	admin.POST("/tenants/:tenantId/tokens", s.mintTenantToken)

	if s.console != nil {
		// The web console: its own pages and cookie session, calling the
		// routes above with the signed-in token.
		console := gin.WrapH(s.console)
		r.GET("/console/*path", console)
		r.POST("/console/*path", console)
		// A browser pointed at the server's address lands in the console.
		r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/console/") })
	}

	r.NoRoute(func(c *gin.Context) { fail(c, notFound("no route %s %s", c.Request.Method, c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		fail(c, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: c.Request.Method + " is not supported on " + c.Request.URL.Path})
	})
}
