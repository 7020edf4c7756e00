package api

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/payload"
)

// renderAllowance gives every request payload.MaxRequestRenderTime for all
// the Custom template renders it causes (a save renders twice, a test of an
// unsaved webhook three times), so no request spends more CPU on templates
// than one render may (docs/security.md, Safety).
func renderAllowance() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request = c.Request.WithContext(payload.WithRequestAllowance(c.Request.Context(), payload.MaxRequestRenderTime))
	}
}

// limitBody caps request bodies; reading past the cap yields
// *http.MaxBytesError, which renders as 413.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			fail(c, &http.MaxBytesError{Limit: n})
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
	}
}

var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// observe logs each request (never bodies: they carry payloads and secrets)
// and feeds the request metrics.
func (s *server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request.Method
		if route == "unmatched" && !knownMethods[method] {
			method = "OTHER" // any client may send any method: bound the label's values
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		s.metrics.observe(method, route, status, elapsed)
		if ctx := c.Request.Context(); s.log.Enabled(ctx, slog.LevelDebug) { // ingest's hot path: no attributes built for nothing
			s.log.DebugContext(ctx, "request", append([]any{"method", method, "route", route,
				"status", status, "duration_ms", elapsed.Milliseconds()}, requestIDs(c)...)...)
		}
	}
}

// recoverPanics turns a handler panic into a logged 500.
func (s *server) recoverPanics() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, v any) {
		s.log.ErrorContext(c.Request.Context(), "handler panic", append([]any{"route", c.FullPath(), "panic", v,
			"stack", string(debug.Stack())}, requestIDs(c)...)...)
		c.AbortWithStatusJSON(http.StatusInternalServerError,
			&Error{Status: 500, Code: "internal", Message: "internal error; see the server log"})
	})
}

// principal is who updatedBy names. A token carries no user identity, so a
// product may name its user in X-Webhookd-User: the admin's is taken as is,
// a tenant's is "tenant:<id>/<user>". Without one: "api" or "tenant:<id>".
func principal(c *gin.Context) string {
	user := c.GetHeader("X-Webhookd-User") // printable, at most 128 bytes (checkInputs)
	who := callerOf(c)
	switch {
	case who.admin() && user != "":
		return user
	case who.admin():
		return "api"
	case user != "":
		// A tenant cannot pass itself off as the admin or another tenant.
		return "tenant:" + who.tenant + "/" + user
	}
	return "tenant:" + who.tenant
}
