package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/models"
)

// caller is who a request acts as: the admin (every tenant) or one tenant,
// possibly read-only.
type caller struct {
	tenant   string // "" for the admin
	readOnly bool
	expires  time.Time // a tenant token's expiry; zero for the admin
}

func (c caller) admin() bool { return c.tenant == "" }

// sees reports whether the caller may know that a resource of tenant exists.
func (c caller) sees(tenant string) bool { return c.admin() || c.tenant == tenant }

const callerKey = "webhookd.caller"

func callerOf(c *gin.Context) caller {
	v, _ := c.Get(callerKey)
	who, _ := v.(caller)
	return who
}

// tokenVerifier checks tenant tokens.
type tokenVerifier interface {
	Verify(token string) (tenancy.Claims, error)
}

// authenticate decides who the caller is. The admin token (API_TOKEN) acts
// for every tenant; a tenant token for its tenant only. With no API_TOKEN
// (dev), a request without credentials is the admin, but a credential that is
// presented must still be valid. Every failure is the same 401.
func (s *server) authenticate() gin.HandlerFunc {
	adminDigest := sha256.Sum256([]byte(s.token))
	return func(c *gin.Context) {
		header := c.GetHeader("Authorization")
		// An empty bearer token is no credential: scripts that always send
		// "Bearer $API_TOKEN" work against an open API (webhookd dev) too.
		if s.token == "" && (header == "" || strings.TrimSpace(header) == "Bearer") {
			c.Set(callerKey, caller{})
			return
		}
		raw, ok := strings.CutPrefix(header, "Bearer ")
		if ok && s.token != "" {
			// Digests make the comparison constant-time in the length too.
			got := sha256.Sum256([]byte(raw))
			if subtle.ConstantTimeCompare(got[:], adminDigest[:]) == 1 {
				c.Set(callerKey, caller{})
				return
			}
		}
		if ok && s.tokens != nil {
			if claims, err := s.tokens.Verify(raw); err == nil {
				c.Set(callerKey, caller{tenant: claims.TenantID, readOnly: claims.ReadOnly, expires: claims.ExpiresAt})
				return
			}
		}
		c.Header("WWW-Authenticate", `Bearer realm="webhookd"`)
		fail(c, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
			Message: "missing, expired or invalid bearer token (Authorization: Bearer <API_TOKEN or tenant token>)"})
	}
}

// readOnlyRefusesWrites stops a read-only tenant token at every method that
// changes something (or sends something: a test, a replay).
func readOnlyRefusesWrites() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !callerOf(c).readOnly {
			return
		}
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return
		}
		fail(c, forbidden("this token is read-only"))
	}
}

// adminOnly refuses tenant tokens.
func adminOnly() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !callerOf(c).admin() {
			fail(c, forbidden("this route needs the admin token"))
		}
	}
}

// listTenant is the tenant a list is narrowed to: a tenant token's own, or
// the admin's ?tenantId= ("" lists every tenant).
func listTenant(c *gin.Context) (string, error) {
	return scopeTenant(c, c.Query("tenantId"), "")
}

// namedTenant is the tenant a new resource (or a lookup by a per-tenant key:
// a webhook name, an event id) belongs to: a tenant token's own, or the one
// the admin names, else the default tenant.
func namedTenant(c *gin.Context, named string) (string, error) {
	return scopeTenant(c, named, models.DefaultTenant)
}

func scopeTenant(c *gin.Context, named, adminDefault string) (string, error) {
	if named != "" && !tenancy.ValidID(named) {
		return "", invalid("tenantId", "%s", tenancy.IDRule)
	}
	who := callerOf(c)
	switch {
	case who.admin() && named == "":
		noteTenant(c, adminDefault)
		return adminDefault, nil
	case who.admin():
		noteTenant(c, named)
		return named, nil
	case named != "" && named != who.tenant:
		// Refused outright: the caller named a tenant it does not hold.
		return "", forbidden("this token is for tenant %q", who.tenant)
	}
	return who.tenant, nil
}

// queryTenant reads ?tenantId= for a lookup by a per-tenant key.
func queryTenant(c *gin.Context) (string, error) {
	return namedTenant(c, c.Query("tenantId"))
}
