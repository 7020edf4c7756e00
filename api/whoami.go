package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// whoamiAnswer describes the credential of the request, so a client (the
// console, a product's backend) can tell what a token may do before it
// uses it.
type whoamiAnswer struct {
	// Role is admin (API_TOKEN, or no token when the API is open) or tenant.
	Role      string  `json:"role"`
	TenantID  string  `json:"tenantId,omitempty"`
	ReadOnly  bool    `json:"readOnly"`
	ExpiresAt *string `json:"expiresAt,omitempty"`
}

func (s *server) whoami(c *gin.Context) {
	who := callerOf(c)
	if who.admin() {
		c.JSON(http.StatusOK, whoamiAnswer{Role: "admin"})
		return
	}
	c.JSON(http.StatusOK, whoamiAnswer{Role: "tenant", TenantID: who.tenant, ReadOnly: who.readOnly, ExpiresAt: ptr(isoTime(who.expires))})
}
