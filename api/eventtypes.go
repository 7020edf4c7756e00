package api

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/catalog"
	"github.com/webhookd/webhookd/internal/eventtypes"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// eventTypeWriter is the one owner of event type writes (internal/eventtypes).
type eventTypeWriter interface {
	Create(ctx context.Context, tenant string, in eventtypes.Spec, by string) (*models.EventType, error)
	Update(ctx context.Context, current *models.EventType, in eventtypes.Spec, by string) (*models.EventType, error)
	Delete(ctx context.Context, t *models.EventType, by string) (*models.EventType, error)
}

// eventTypeReader reads the catalog.
type eventTypeReader interface {
	GetEventType(ctx context.Context, id string) (*models.EventType, error)
	GetEventTypeByName(ctx context.Context, tenant, name string) (*models.EventType, error)
	ListEventTypes(ctx context.Context, p store.EventTypePage) ([]models.EventType, int64, error)
}

// eventTypeJSON is an event type as the API reads and writes it. Read-only
// fields are accepted on input (so a GET can be PUT back) and ignored.
type eventTypeJSON struct {
	ID string `json:"id,omitempty"`
	// TenantID is the owner, or "*" for a global type (the admin's,
	// seen by every tenant). Set at creation, never changed.
	TenantID    string          `json:"tenantId,omitempty"`
	Global      *bool           `json:"global,omitempty"`
	BuiltIn     *bool           `json:"builtIn,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty" input:"prose"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Examples    json.RawMessage `json:"examples,omitempty"`
	Deprecated  *bool           `json:"deprecated,omitempty"`
	Validate    *bool           `json:"validate,omitempty"`
	Version     int64           `json:"version,omitempty"`
	CreatedAt   string          `json:"createdAt,omitempty"`
	UpdatedAt   string          `json:"updatedAt,omitempty"`
	UpdatedBy   string          `json:"updatedBy,omitempty"`
	Deleted     *bool           `json:"deleted,omitempty"`
}

func toEventTypeJSON(t *models.EventType) eventTypeJSON {
	return eventTypeJSON{
		ID: t.ID, TenantID: t.TenantID, Global: ptr(t.TenantID == models.GlobalTenant), BuiltIn: ptr(t.BuiltIn),
		Name: t.Name, Description: t.Description, Schema: t.Schema, Examples: t.Examples,
		Deprecated: ptr(t.Deprecated), Validate: ptr(t.Validate), Version: t.Version,
		CreatedAt: isoTime(t.CreatedAt), UpdatedAt: isoTime(t.UpdatedAt), UpdatedBy: t.UpdatedBy, Deleted: ptr(t.Deleted),
	}
}

func (in eventTypeJSON) spec() eventtypes.Spec {
	return eventtypes.Spec{Name: in.Name, Description: in.Description, Schema: in.Schema, Examples: in.Examples,
		Deprecated: in.Deprecated != nil && *in.Deprecated, Validate: in.Validate != nil && *in.Validate}
}

// typeTenant is whose catalog a request names: a tenant token's own, the
// tenant the admin names, or "*" (global types, the admin's alone); the
// default tenant when the admin names none.
func typeTenant(c *gin.Context, named string) (string, error) {
	if named != models.GlobalTenant {
		return namedTenant(c, named)
	}
	if !callerOf(c).admin() {
		return "", forbidden("global event types are the admin's; this token reads them only")
	}
	return models.GlobalTenant, nil
}

func (s *server) createEventType(c *gin.Context) {
	var in eventTypeJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	tenant, err := typeTenant(c, in.TenantID)
	if err != nil {
		fail(c, err)
		return
	}
	t, err := s.eventTypes.Create(c.Request.Context(), tenant, in.spec(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/event-types/"+t.ID)
	c.JSON(http.StatusCreated, toEventTypeJSON(t))
}

type eventTypeList struct {
	Data   []eventTypeJSON `json:"data"`
	Paging paging          `json:"paging"`
}

// listEventTypes pages through a catalog by name: a tenant's own types,
// the global ones and webhookd's built-in ones. The admin sees every
// tenant's, or names one with ?tenantId= ("*": the global ones alone).
func (s *server) listEventTypes(c *gin.Context) {
	limit, err := limitParam(c)
	if err != nil {
		fail(c, err)
		return
	}
	p := store.EventTypePage{Limit: limit + 1}
	if named := c.Query("tenantId"); named == models.GlobalTenant {
		p.TenantID, err = typeTenant(c, named)
	} else {
		p.TenantID, err = listTenant(c)
	}
	if err != nil {
		fail(c, err)
		return
	}
	if after := c.Query("after"); after != "" {
		var cur nameCursor
		if err := decodeCursor(after, &cur); err != nil {
			fail(c, err)
			return
		}
		if cur.Name == "" {
			fail(c, badRequest("after: not a cursor returned by this API"))
			return
		}
		p.AfterName = cur.Name
		if _, err := uuid.Parse(cur.ID); err == nil && p.TenantID == "" {
			// Only every tenant's list repeats names; a built-in type's
			// name is nobody else's.
			p.AfterID = cur.ID
		}
	}
	stored, total, err := s.store.ListEventTypes(c.Request.Context(), p)
	if err != nil {
		fail(c, err)
		return
	}
	ts, total := catalog.WithBuiltins(stored, total, p.AfterName, limit+1)
	out := eventTypeList{Data: []eventTypeJSON{}, Paging: paging{Total: total}}
	if len(ts) > limit {
		ts = ts[:limit]
		last := ts[limit-1]
		out.Paging.After = encodeCursor(nameCursor{Name: last.Name, ID: last.ID})
	}
	for i := range ts {
		out.Data = append(out.Data, toEventTypeJSON(&ts[i]))
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getEventType(c *gin.Context) {
	t, err := s.visibleEventType(c)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toEventTypeJSON(t))
}

// getEventTypeByName reads the type called name in a tenant's view: its
// own, a global or a built-in one. Names may hold slashes.
func (s *server) getEventTypeByName(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("name"), "/")
	if b, ok := catalog.Builtin(name); ok {
		c.JSON(http.StatusOK, toEventTypeJSON(&b))
		return
	}
	tenant, err := typeTenant(c, c.Query("tenantId"))
	if err != nil {
		fail(c, err)
		return
	}
	t, err := s.store.GetEventTypeByName(c.Request.Context(), tenant, name)
	if err != nil {
		fail(c, notFoundAs(err, "event type named %q not found", name))
		return
	}
	c.JSON(http.StatusOK, toEventTypeJSON(t))
}

func (s *server) replaceEventType(c *gin.Context) {
	t, err := s.writableEventType(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in eventTypeJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	if in.TenantID != "" && in.TenantID != t.TenantID {
		fail(c, invalid("tenantId", "set when the type is created; it cannot change"))
		return
	}
	s.saveEventType(c, t, in)
}

// patchEventType applies an RFC 6902 JSON Patch to the type as a read
// shows it, then saves the result like a PUT. Read-only fields may not
// change.
func (s *server) patchEventType(c *gin.Context) {
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/json-patch+json" {
		fail(c, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type: PATCH takes application/json-patch+json (RFC 6902)"})
		return
	}
	t, err := s.writableEventType(c)
	if err != nil {
		fail(c, err)
		return
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	current := toEventTypeJSON(t)
	in, err := patchResource(body, current)
	if err == nil {
		err = unchanged(eventTypeReadOnly(current, in))
	}
	if err != nil {
		fail(c, err)
		return
	}
	s.saveEventType(c, t, in)
}

// eventTypeReadOnly lists the fields of an event type a patch may not change.
func eventTypeReadOnly(before, after eventTypeJSON) []field {
	return []field{
		{"id", before.ID, after.ID},
		{"tenantId", before.TenantID, after.TenantID},
		{"global", before.Global, after.Global},
		{"builtIn", before.BuiltIn, after.BuiltIn},
		{"version", before.Version, after.Version},
		{"createdAt", before.CreatedAt, after.CreatedAt},
		{"updatedAt", before.UpdatedAt, after.UpdatedAt},
		{"updatedBy", before.UpdatedBy, after.UpdatedBy},
		{"deleted", before.Deleted, after.Deleted},
	}
}

// saveEventType has the catalog service check in onto t and store it; a
// concurrent change is a 409, not a lost update.
func (s *server) saveEventType(c *gin.Context, t *models.EventType, in eventTypeJSON) {
	saved, err := s.eventTypes.Update(c.Request.Context(), t, in.spec(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toEventTypeJSON(saved))
}

func (s *server) deleteEventType(c *gin.Context) {
	t, err := s.writableEventType(c)
	if err != nil {
		fail(c, err)
		return
	}
	gone, err := s.eventTypes.Delete(c.Request.Context(), t, principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toEventTypeJSON(gone))
}

// exportEventTypes answers a tenant's catalog as an OpenAPI 3.1 document
// whose webhooks section has one entry per type (the admin names the
// tenant with ?tenantId=, the default one otherwise).
func (s *server) exportEventTypes(c *gin.Context) {
	tenant, err := typeTenant(c, c.Query("tenantId"))
	if err != nil {
		fail(c, err)
		return
	}
	var all []models.EventType
	p := store.EventTypePage{TenantID: tenant, Limit: maxLimit}
	for {
		page, _, err := s.store.ListEventTypes(c.Request.Context(), p)
		if err != nil {
			fail(c, err)
			return
		}
		all = append(all, page...)
		if len(page) < p.Limit {
			break
		}
		p.AfterName = page[len(page)-1].Name
	}
	receiver := tenant // whose envelopes the examples show
	if tenant == models.GlobalTenant {
		receiver = ""
	}
	doc, err := catalog.OpenAPI(append(all, catalog.Builtins()...), receiver)
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// visibleEventType reads :id: a built-in type (its id is its name), the
// caller's own or a global one. Another tenant's, and a deleted one, are
// not found.
func (s *server) visibleEventType(c *gin.Context) (*models.EventType, error) {
	id := c.Param("id")
	if b, ok := catalog.Builtin(id); ok {
		return &b, nil
	}
	t, err := s.store.GetEventType(c.Request.Context(), id)
	if err != nil {
		return nil, notFoundAs(err, "event type %s not found", id)
	}
	if t.Deleted || (t.TenantID != models.GlobalTenant && !callerOf(c).sees(t.TenantID)) {
		return nil, notFound("event type %s not found", id)
	}
	return t, nil
}

// writableEventType is visibleEventType for a write: a tenant token may
// read the global types but not change them.
func (s *server) writableEventType(c *gin.Context) (*models.EventType, error) {
	t, err := s.visibleEventType(c)
	if err != nil {
		return nil, err
	}
	if t.TenantID == models.GlobalTenant && !t.BuiltIn && !callerOf(c).admin() {
		return nil, forbidden("global event types are the admin's; this token reads them only")
	}
	return t, nil
}
