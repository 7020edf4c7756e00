package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// authenticate checks the bearer token in constant time when one is set.
func (s *server) authenticate() gin.HandlerFunc {
	want := []byte(s.token)
	return func(c *gin.Context) {
		if len(want) == 0 {
			return
		}
		got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="webhookd"`)
			fail(c, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "missing or wrong bearer token (Authorization: Bearer <API_TOKEN>)"})
		}
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
		status := c.Writer.Status()
		elapsed := time.Since(start)
		s.metrics.observe(c.Request.Method, route, status, elapsed)
		s.log.DebugContext(c.Request.Context(), "request", "method", c.Request.Method, "route", route,
			"status", status, "duration_ms", elapsed.Milliseconds())
	}
}

// recoverPanics turns a handler panic into a logged 500.
func (s *server) recoverPanics() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, v any) {
		s.log.ErrorContext(c.Request.Context(), "handler panic", "route", c.FullPath(), "panic", v)
		c.AbortWithStatusJSON(http.StatusInternalServerError,
			&Error{Status: 500, Code: "internal", Message: "internal error; see the server log"})
	})
}

func principal(c *gin.Context) string {
	// One shared token has no user identity; OpenMetadata's updatedBy still
	// gets a useful value.
	if v := c.GetHeader("X-Webhookd-User"); v != "" && len(v) <= 128 {
		return v
	}
	return "api"
}
