package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/webhookd/webhookd/internal/catalog"
	"github.com/webhookd/webhookd/models"
)

// typeStore is what the validator reads.
type typeStore interface {
	ValidatingEventTypes(ctx context.Context, tenant string) ([]models.EventType, error)
}

// Validator checks events of the catalog's strict types (validate: true)
// against their schemas. It keeps each tenant's strict types in memory by
// catalog version (which the caller reads for every request, so a schema
// changed through any replica applies to the next event), and compiled
// schemas by type version, shared by every tenant that sees the type.
type Validator struct {
	store   typeStore
	schemas *catalog.Cache
	tenants *lru.Cache[string, *tenantTypes]
	// Log reports stored schemas that no longer compile (their events are
	// accepted unchecked); nil discards. Set it before the first event.
	Log *slog.Logger
}

// tenantTypes is one tenant's strict types at one catalog version, by name.
type tenantTypes struct {
	version int64
	byName  map[string]*models.EventType
}

// validatorTenants bounds the tenants whose strict types are kept; one
// that falls out reads them again (one small query).
const validatorTenants = 10_000

// NewValidator returns a Validator reading types from s.
func NewValidator(s typeStore) *Validator {
	schemas, err := catalog.NewCache(catalog.DefaultCacheSize)
	if err != nil {
		panic("ingest: " + err.Error()) // only for a size below 1
	}
	tenants, err := lru.New[string, *tenantTypes](validatorTenants)
	if err != nil {
		panic("ingest: " + err.Error())
	}
	return &Validator{store: s, schemas: schemas, tenants: tenants}
}

// DataError is an event refused because its data does not match its
// type's schema: Index is its place in the request, Path a JSON pointer
// from the event (/data/amount) and Msg what is wrong (expected number).
type DataError struct {
	Index int
	Path  string
	Msg   string
}

func (e *DataError) Error() string { return fmt.Sprintf("event %d: %s: %s", e.Index, e.Path, e.Msg) }

// Check validates ev, of tenant, against the tenant's catalog at version
// (store.Versions) or later. Events of unknown types, and of types without
// validate, pass. A mismatch is a *DataError (Index 0).
func (v *Validator) Check(ctx context.Context, tenant string, version int64, ev *models.Event) error {
	types, err := v.current(ctx, tenant, version)
	if err != nil {
		return err
	}
	t := types.byName[ev.Type]
	if t == nil {
		return nil
	}
	schema, err := v.schemas.Schema(t)
	if err != nil {
		if v.Log != nil {
			v.Log.Warn("a stored event type schema does not compile: its events are accepted unchecked",
				"type", t.Name, "tenant", t.TenantID, "error", err)
		}
		return nil
	}
	var de *catalog.DataError
	if err := schema.Validate(ev.Data); errors.As(err, &de) {
		return &DataError{Path: de.Path, Msg: de.Msg}
	} else if err != nil {
		return err
	}
	return nil
}

// current returns the tenant's strict types at version or later. Two
// callers missing at once may both read them; both get them right.
func (v *Validator) current(ctx context.Context, tenant string, version int64) (*tenantTypes, error) {
	if tt, ok := v.tenants.Get(tenant); ok && tt.version >= version {
		return tt, nil
	}
	// version was read before these types: a change in between leaves the
	// cache a version behind its content, so the next event reads again.
	ts, err := v.store.ValidatingEventTypes(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	tt := &tenantTypes{version: version, byName: make(map[string]*models.EventType, len(ts))}
	for i := range ts {
		// A name means one type in a tenant's view (the store refuses a
		// tenant's type named like a global one); should both exist, the
		// tenant's own wins, as a lookup by name does.
		t := &ts[i]
		if prev, ok := tt.byName[t.Name]; ok && prev.TenantID != models.GlobalTenant {
			continue
		}
		tt.byName[t.Name] = t
	}
	v.tenants.Add(tenant, tt)
	return tt, nil
}
