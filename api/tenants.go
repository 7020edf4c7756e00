package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/models"
)

// tenantLister lists tenants with their counts.
type tenantLister interface {
	ListTenants(ctx context.Context, after string, limit int) ([]store.TenantSummary, error)
}

// tenantDeleter removes a tenant that leaves (internal/dispatch).
type tenantDeleter interface {
	DeleteTenant(ctx context.Context, tenant string) (dispatch.TenantDeleted, error)
}

type tokenRequest struct {
	TTLSeconds *int64 `json:"ttlSeconds,omitempty"`
	ReadOnly   bool   `json:"readOnly,omitempty"`
}

type tokenAnswer struct {
	Token     string `json:"token"`
	TenantID  string `json:"tenantId"`
	ReadOnly  bool   `json:"readOnly"`
	ExpiresAt string `json:"expiresAt"`
}

const (
	defaultTokenTTL = time.Hour
	minTokenTTL     = time.Minute
)

// mintTenantToken issues a signed token confining its holder to one tenant:
// a product mints one for its customer's browser or backend.
func (s *server) mintTenantToken(c *gin.Context) {
	if s.tokens == nil {
		fail(c, tenancyOff)
		return
	}
	tenant, err := pathTenant(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in tokenRequest
	if _, err := decodeOptionalJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	ttl := defaultTokenTTL
	if in.TTLSeconds != nil {
		// Bounds on the seconds themselves: multiplied first, a huge
		// value would wrap around into the range.
		lo, hi := int64(minTokenTTL/time.Second), int64(tenancy.MaxTTL/time.Second)
		if *in.TTLSeconds < lo || *in.TTLSeconds > hi {
			fail(c, invalid("ttlSeconds", "must be from %d to %d", lo, hi))
			return
		}
		ttl = time.Duration(*in.TTLSeconds) * time.Second
	}
	tok, exp, err := s.tokens.Mint(tenant, ttl, in.ReadOnly)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store") // a credential
	c.JSON(http.StatusCreated, tokenAnswer{Token: tok, TenantID: tenant, ReadOnly: in.ReadOnly, ExpiresAt: isoTime(exp)})
}

func pathTenant(c *gin.Context) (string, error) {
	if t := c.Param("tenantId"); tenancy.ValidID(t) {
		return t, nil
	}
	return "", badRequest("tenantId: %s", tenancy.IDRule)
}

type tenantJSON struct {
	TenantID        string           `json:"tenantId"`
	Webhooks        int64            `json:"webhooks"`
	DeletedWebhooks int64            `json:"deletedWebhooks"`
	Deliveries      map[string]int64 `json:"deliveries"`
}

type tenantList struct {
	Data   []tenantJSON `json:"data"`
	Paging struct {
		After string `json:"after,omitempty"`
	} `json:"paging"`
}

// listTenants lists tenants (those that have or had webhooks) with their
// webhook count and deliveries by status, paged by tenant id.
func (s *server) listTenants(c *gin.Context) {
	limit, err := limitParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	after := c.Query("after")
	if after != "" && !tenancy.ValidID(after) {
		fail(c, badRequest("after: not a cursor returned by this API"))
		return
	}
	ts, err := s.store.ListTenants(c.Request.Context(), after, limit+1)
	if err != nil {
		fail(c, err)
		return
	}
	var out tenantList
	out.Data = []tenantJSON{}
	if len(ts) > limit {
		ts = ts[:limit]
		out.Paging.After = ts[limit-1].TenantID
	}
	for _, t := range ts {
		counts := map[string]int64{}
		for _, st := range models.DeliveryStatuses {
			counts[string(st)] = t.Deliveries[st]
		}
		out.Data = append(out.Data, tenantJSON{TenantID: t.TenantID, Webhooks: t.Webhooks, DeletedWebhooks: t.DeletedWebhooks, Deliveries: counts})
	}
	c.JSON(http.StatusOK, out)
}

type tenantDeletedJSON struct {
	TenantID       string   `json:"tenantId"`
	Webhooks       int64    `json:"webhooks"`
	Events         int64    `json:"events"`
	Deliveries     int64    `json:"deliveries"`
	Attempts       int64    `json:"attempts"`
	WorkflowsEnded int      `json:"workflowsEnded"`
	Warnings       []string `json:"warnings,omitempty"`
}

// deleteTenant removes everything of a tenant and ends its open workflows.
func (s *server) deleteTenant(c *gin.Context) {
	tenant, err := pathTenant(c)
	if err != nil {
		fail(c, err)
		return
	}
	res, err := s.dispatcher.DeleteTenant(c.Request.Context(), tenant)
	if errors.Is(err, dispatch.ErrNoSuchTenant) {
		fail(c, notFound("tenant %q has no webhooks or events", tenant))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tenantDeletedJSON{TenantID: tenant, Webhooks: res.Webhooks, Events: res.Events,
		Deliveries: res.Deliveries, Attempts: res.Attempts, WorkflowsEnded: res.WorkflowsEnded, Warnings: res.Warnings})
}
