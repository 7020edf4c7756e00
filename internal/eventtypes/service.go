// Package eventtypes owns every write to the event catalog: create, update
// (PUT and PATCH) and delete of a tenant's or a global event type. It
// checks a type before it is stored (catalog.Check: the name, the schema,
// the examples against the schema), keeps a type's name and tenant as they
// were created, and refuses writes to webhookd's own built-in types. Ingest
// reads the catalog's version on every request, so nothing else has to be
// told of a change.
package eventtypes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/webhookd/webhookd/internal/catalog"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// typeStore is where event types are kept (internal/store).
type typeStore interface {
	CreateEventTypeWithin(ctx context.Context, t *models.EventType, limit int) error
	UpdateEventType(ctx context.Context, t *models.EventType, expectVersion int64) error
	SoftDeleteEventType(ctx context.Context, id, by string) error
	GetEventType(ctx context.Context, id string) (*models.EventType, error)
}

// Spec is an event type as a caller writes it; the rest (id, tenant,
// version, audit) webhookd keeps.
type Spec struct {
	Name        string
	Description string
	// Schema is a JSON Schema (2020-12) of the events' data; nil or JSON
	// null for none.
	Schema json.RawMessage
	// Examples is a JSON array of example data, each valid against Schema.
	Examples   json.RawMessage
	Deprecated bool
	Validate   bool
}

// ErrBuiltIn refuses a write to one of webhookd's own types (webhookd.*).
var ErrBuiltIn = errors.New("webhookd's own event types (webhookd.*) are read-only")

// NameTakenError means the name is in use where the type would be seen.
type NameTakenError struct {
	Name string
	// Where is whose type has the name: "" (the same scope), "global" or
	// "tenant" (a global type may not share a tenant type's name).
	Where string
}

func (e *NameTakenError) Error() string {
	switch e.Where {
	case "global":
		return fmt.Sprintf("a global event type is named %q, and every tenant sees it", e.Name)
	case "tenant":
		return fmt.Sprintf("a tenant's event type is named %q: a global type of that name would hide it", e.Name)
	}
	return fmt.Sprintf("an event type named %q already exists", e.Name)
}

// Service writes event types.
type Service struct {
	store typeStore
	// MaxPerTenant caps each tenant's live event types
	// (TENANT_MAX_EVENT_TYPES; 0: no cap; global types have none): a
	// create past it is a *store.QuotaError.
	MaxPerTenant int
}

// New returns a Service writing to s.
func New(s typeStore) *Service { return &Service{store: s} }

// Create checks and stores a new type of tenant (models.GlobalTenant for a
// global one). A problem with the type is a *catalog.FieldError.
func (s *Service) Create(ctx context.Context, tenant string, in Spec, by string) (*models.EventType, error) {
	t := &models.EventType{TenantID: tenant, UpdatedBy: by}
	apply(in, t)
	if err := catalog.Check(t); err != nil {
		return nil, err
	}
	if err := s.store.CreateEventTypeWithin(ctx, t, s.MaxPerTenant); err != nil {
		return nil, nameTaken(err, t.Name)
	}
	return t, nil
}

// Update checks in onto the type as current holds it and stores it under
// optimistic locking: a change made since current was read is
// store.ErrStale. The name never changes. A spec that changes nothing
// writes nothing and keeps the version.
func (s *Service) Update(ctx context.Context, current *models.EventType, in Spec, by string) (*models.EventType, error) {
	if current.BuiltIn {
		return nil, ErrBuiltIn
	}
	if in.Name != current.Name {
		return nil, &catalog.FieldError{Path: "name", Msg: "set when the type is created; it cannot change (create a new type, and deprecate this one)"}
	}
	next := *current
	apply(in, &next)
	// A schema or examples that say what the stored ones say keep the
	// stored text: a client that read them into a map and wrote them back
	// reorders their keys, and generated types follow the order.
	if sameJSON(current.Schema, next.Schema) {
		next.Schema = current.Schema
	}
	if sameJSON(current.Examples, next.Examples) {
		next.Examples = current.Examples
	}
	if err := catalog.Check(&next); err != nil {
		return nil, err
	}
	if sameConfig(current, &next) {
		return current, nil
	}
	next.UpdatedBy = by
	if err := s.store.UpdateEventType(ctx, &next, current.Version); err != nil {
		return nil, err
	}
	return &next, nil
}

// Delete removes a type (soft: its name is free again, and events of that
// type are accepted as of an unknown type) and returns it as it is now.
func (s *Service) Delete(ctx context.Context, t *models.EventType, by string) (*models.EventType, error) {
	if t.BuiltIn {
		return nil, ErrBuiltIn
	}
	if err := s.store.SoftDeleteEventType(ctx, t.ID, by); err != nil {
		return nil, err
	}
	return s.store.GetEventType(ctx, t.ID)
}

func apply(in Spec, t *models.EventType) {
	t.Name, t.Description, t.Deprecated, t.Validate = in.Name, in.Description, in.Deprecated, in.Validate
	t.Schema, t.Examples = orNil(in.Schema), orNil(in.Examples)
}

// orNil makes absent and JSON null the same: no value.
func orNil(raw json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return raw
}

// sameConfig reports whether two versions of a type say the same thing.
func sameConfig(a, b *models.EventType) bool {
	return a.Name == b.Name && a.Description == b.Description && a.Deprecated == b.Deprecated && a.Validate == b.Validate &&
		bytes.Equal(a.Schema, b.Schema) && bytes.Equal(a.Examples, b.Examples)
}

// sameJSON reports whether two JSON texts hold the same value, whatever
// their spacing and key order.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

func nameTaken(err error, name string) error {
	switch {
	case errors.Is(err, store.ErrGlobalTypeName):
		return &NameTakenError{Name: name, Where: "global"}
	case errors.Is(err, store.ErrTenantTypeName):
		return &NameTakenError{Name: name, Where: "tenant"}
	case errors.Is(err, store.ErrConflict):
		return &NameTakenError{Name: name}
	}
	return err
}
