package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/input"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/models"
)

// webhookWriter is the one owner of webhook writes (internal/webhooks): it
// validates, stores, and keeps matching and deliveries in step.
type webhookWriter interface {
	// Draft validates a new webhook and returns it unstored.
	Draft(ctx context.Context, tenant string, in webhooks.Spec, by string) (*models.Webhook, error)
	Create(ctx context.Context, tenant string, in webhooks.Spec, by string) (*models.Webhook, error)
	Update(ctx context.Context, current *models.Webhook, in webhooks.Spec, by string) (*models.Webhook, error)
	Delete(ctx context.Context, w *models.Webhook, hard bool, by string) (*models.Webhook, error)
}

// webhookReader reads webhooks.
type webhookReader interface {
	GetWebhook(ctx context.Context, id string) (*models.Webhook, error)
	GetWebhookByName(ctx context.Context, tenant, name string, include store.Include) (*models.Webhook, error)
	ListWebhooks(ctx context.Context, p store.WebhookPage) ([]models.Webhook, int64, error)
}

// newWebhook validates a webhook as a create takes it (also a test before
// saving) and returns it, not stored.
func (s *server) newWebhook(c *gin.Context, in webhookJSON) (*models.Webhook, error) {
	tenant, err := namedTenant(c, in.TenantID)
	if err != nil {
		return nil, err
	}
	return s.webhooks.Draft(c.Request.Context(), tenant, in.spec(), principal(c))
}

func (s *server) createWebhook(c *gin.Context) {
	var in webhookJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	tenant, err := namedTenant(c, in.TenantID)
	if err != nil {
		fail(c, err)
		return
	}
	w, err := s.webhooks.Create(c.Request.Context(), tenant, in.spec(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", s.href(c, w.ID))
	s.writeWebhook(c, http.StatusCreated, w)
}

func (s *server) getWebhook(c *gin.Context) {
	w, err := s.loadWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	s.writeWebhook(c, http.StatusOK, w)
}

func (s *server) getWebhookByName(c *gin.Context) {
	include, err := includeParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	tenant, err := queryTenant(c)
	if err != nil {
		fail(c, err)
		return
	}
	w, err := s.store.GetWebhookByName(c.Request.Context(), tenant, c.Param("name"), store.Include(include))
	if err != nil {
		fail(c, notFoundAs(err, "webhook named %q not found", c.Param("name")))
		return
	}
	s.writeWebhook(c, http.StatusOK, w)
}

type webhookList struct {
	Data   []webhookJSON `json:"data"`
	Paging paging        `json:"paging"`
}

type paging struct {
	After string `json:"after,omitempty"`
	Total int64  `json:"total"`
}

func (s *server) listWebhooks(c *gin.Context) {
	limit, err := limitParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	include, err := includeParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	tenant, err := listTenant(c)
	if err != nil {
		fail(c, err)
		return
	}
	p := store.WebhookPage{TenantID: tenant, Limit: limit + 1, Include: store.Include(include)}
	if st := c.Query("status"); st != "" {
		if !slices.Contains(models.WebhookStatuses, models.WebhookStatus(st)) {
			fail(c, badRequest("status: one of active, awaitingRetry, retryLimitReached, disabled, failed"))
			return
		}
		p.Status = models.WebhookStatus(st)
	}
	switch c.Query("paused") {
	case "":
	case "true", "false":
		p.Paused = ptr(c.Query("paused") == "true")
	default:
		fail(c, badRequest("paused: true or false"))
		return
	}
	if after := c.Query("after"); after != "" {
		var cur nameCursor
		if err := decodeCursor(after, &cur); err != nil {
			fail(c, err)
			return
		}
		if _, err := uuid.Parse(cur.ID); err != nil || cur.Name == "" {
			fail(c, badRequest("after: not a cursor returned by this API"))
			return
		}
		p.AfterName, p.AfterID = cur.Name, cur.ID
	}
	ws, total, err := s.store.ListWebhooks(c.Request.Context(), p)
	if err != nil {
		fail(c, err)
		return
	}
	out := webhookList{Data: []webhookJSON{}, Paging: paging{Total: total}}
	if len(ws) > limit {
		ws = ws[:limit]
		last := ws[limit-1]
		out.Paging.After = encodeCursor(nameCursor{Name: last.Name, ID: last.ID})
	}
	for i := range ws {
		out.Data = append(out.Data, toWebhookJSON(&ws[i], s.href(c, ws[i].ID)))
	}
	c.JSON(http.StatusOK, out)
}

type nameCursor struct {
	Name string `json:"n"`
	ID   string `json:"i"`
}

// replaceWebhook replaces a webhook's configuration. If-Match, or a
// version in the body (a read document sent back has it), must name the
// stored version: concurrent read-modify-write clients get 412 or 409
// instead of losing each other's changes.
func (s *server) replaceWebhook(c *gin.Context) {
	w, err := s.loadLiveWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := checkIfMatch(c, w); err != nil {
		fail(c, err)
		return
	}
	var in webhookJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	if err := sameTenant(c, w, in); err != nil {
		fail(c, err)
		return
	}
	if err := checkBodyVersion(in, w); err != nil {
		fail(c, err)
		return
	}
	s.saveWebhook(c, w, in)
}

// sameTenant refuses a document that names another tenant: 403 when the
// caller does not hold that tenant, 422 when it does (the admin) because a
// webhook's tenant never changes.
func sameTenant(c *gin.Context, w *models.Webhook, in webhookJSON) error {
	if in.TenantID == "" {
		return nil
	}
	if _, err := namedTenant(c, in.TenantID); err != nil {
		return err
	}
	if in.TenantID != w.TenantID {
		return invalid("tenantId", "set when the webhook is created; it cannot change")
	}
	return nil
}

// patchWebhook applies an RFC 6902 JSON Patch to the webhook as a read would
// show it, then validates the result like a PUT. Read-only fields may not
// change; a failing patch leaves the stored webhook as it was.
func (s *server) patchWebhook(c *gin.Context) {
	w, err := s.loadLiveWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := checkIfMatch(c, w); err != nil {
		fail(c, err)
		return
	}
	body, err := readBody(c)
	if err == nil {
		err = input.JSON("", body)
	}
	if err != nil {
		fail(c, err)
		return
	}
	current := toWebhookJSON(w, s.href(c, w.ID))
	in, err := patchResource(body, current)
	if err == nil {
		err = sameTenant(c, w, in)
	}
	if err == nil {
		err = unchanged(webhookReadOnly(current, in))
	}
	if err != nil {
		fail(c, err)
		return
	}
	s.saveWebhook(c, w, in)
}

// webhookReadOnly lists the fields of a webhook a patch may not change.
func webhookReadOnly(before, after webhookJSON) []field {
	fields := []field{
		{"id", before.ID, after.ID},
		{"tenantId", before.TenantID, after.TenantID},
		{"status", before.Status, after.Status},
		{"paused", before.Paused, after.Paused},
		{"failureDetails", before.FailureDetails, after.FailureDetails},
		{"version", before.Version, after.Version},
		{"updatedAt", before.UpdatedAt, after.UpdatedAt},
		{"updatedBy", before.UpdatedBy, after.UpdatedBy},
		{"href", before.Href, after.Href},
		{"deleted", before.Deleted, after.Deleted},
	}
	if before.WebhookConfig != nil && after.WebhookConfig != nil {
		fields = append(fields, field{"webhookConfig.previousSecretExpiresAt",
			before.WebhookConfig.PreviousSecretExpiresAt, after.WebhookConfig.PreviousSecretExpiresAt})
	}
	return fields
}

// saveWebhook has the webhooks service validate in onto w and store it; a
// concurrent change is a 409, not a lost update.
func (s *server) saveWebhook(c *gin.Context, w *models.Webhook, in webhookJSON) {
	saved, err := s.webhooks.Update(c.Request.Context(), w, in.spec(), principal(c))
	if err != nil {
		fail(c, staleWrite(c, err))
		return
	}
	s.writeWebhook(c, http.StatusOK, saved)
}

func (s *server) deleteWebhook(c *gin.Context) {
	hard, err := boolParam(c, "hardDelete")
	if err != nil {
		fail(c, err)
		return
	}
	w, err := s.visibleWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	if w.Deleted && !hard {
		fail(c, notFound("webhook %s not found", c.Param("id")))
		return
	}
	if w, err = s.webhooks.Delete(c.Request.Context(), w, hard, principal(c)); err != nil {
		fail(c, err)
		return
	}
	s.writeWebhook(c, http.StatusOK, w)
}

// loadWebhook reads :id, hiding soft-deleted webhooks unless ?include asks.
func (s *server) loadWebhook(c *gin.Context) (*models.Webhook, error) {
	include, err := includeParam(c)
	if err != nil {
		return nil, err
	}
	w, err := s.visibleWebhook(c)
	if err != nil {
		return nil, err
	}
	if (w.Deleted && include == "non-deleted") || (!w.Deleted && include == "deleted") {
		return nil, notFound("webhook %s not found", c.Param("id"))
	}
	return w, nil
}

func (s *server) loadLiveWebhook(c *gin.Context) (*models.Webhook, error) {
	w, err := s.visibleWebhook(c)
	if err != nil {
		return nil, err
	}
	if w.Deleted {
		return nil, notFound("webhook %s not found", c.Param("id"))
	}
	return w, nil
}

// visibleWebhook reads :id; another tenant's webhook is not found, exactly
// like one that does not exist.
func (s *server) visibleWebhook(c *gin.Context) (*models.Webhook, error) {
	w, err := s.store.GetWebhook(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, notFoundAs(err, "webhook %s not found", c.Param("id"))
	}
	if !callerOf(c).sees(w.TenantID) {
		return nil, notFound("webhook %s not found", c.Param("id"))
	}
	return w, nil
}

func (s *server) href(c *gin.Context, id string) string {
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + "/api/v1/webhooks/" + id
}

func includeParam(c *gin.Context) (string, error) {
	v := c.DefaultQuery("include", "non-deleted")
	switch v {
	case "non-deleted", "deleted", "all":
		return v, nil
	}
	return "", badRequest("include: must be non-deleted, deleted or all")
}

func boolParam(c *gin.Context, name string) (bool, error) {
	v := c.Query(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("%s: must be true or false", name)
	}
	return b, nil
}
