package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// traceIngest wraps ingest in a server span under the producer's
// traceparent header (a new trace without one). The deliveries it stores
// keep that span's context, so their starts and attempts join the trace.
func (s *server) traceIngest(c *gin.Context) {
	if !s.tracer.On() {
		return
	}
	name := c.Request.Method + " " + c.FullPath()
	ctx, span := s.tracer.StartFromRequest(c.Request.Context(), c.Request.Header, name, trace.WithAttributes(
		semconv.HTTPRequestMethodKey.String(c.Request.Method), semconv.HTTPRoute(c.FullPath())))
	defer span.End()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	status := c.Writer.Status()
	if len(c.Errors) > 0 {
		status = toAPIError(c.Errors.Last().Err).Status // rendered after this returns
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if ids := idsOf(c); ids.tenant != "" {
		span.SetAttributes(attribute.String("webhookd.tenant_id", ids.tenant))
		if ids.event != "" {
			span.SetAttributes(attribute.String("webhookd.event_id", ids.event),
				attribute.Int("webhookd.deliveries", len(ids.deliveries)))
		}
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}
