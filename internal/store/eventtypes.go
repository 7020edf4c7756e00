package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// The event catalog. A type belongs to a tenant or is global
// (models.GlobalTenant); a tenant sees its own and the global ones. A live
// name is unique among what any tenant sees: a tenant's type may not share
// its name with a global type, nor a global type with any tenant's, so a
// name always means one type and the catalog can be addressed by name.

// The conflicts particular to the catalog, beside a name taken in the
// type's own scope (ErrConflict); both are ErrConflict too.
var (
	// ErrGlobalTypeName: a tenant's type may not have a global type's name.
	ErrGlobalTypeName = fmt.Errorf("%w: a global event type has this name", ErrConflict)
	// ErrTenantTypeName: a global type may not have any tenant's type's name.
	ErrTenantTypeName = fmt.Errorf("%w: a tenant's event type has this name", ErrConflict)
)

// CreateEventType inserts t as version 1, with a new id. A live type of the
// same name in its scope, or (no shadowing) a global type of that name for
// a tenant's type, or any tenant's for a global type, is ErrConflict.
func (s *Store) CreateEventType(ctx context.Context, t *models.EventType) error {
	return s.CreateEventTypeWithin(ctx, t, 0)
}

// CreateEventTypeWithin is CreateEventType, refused with a *QuotaError when
// the type's tenant already has limit live types (0, or a global type: no
// limit). The count and the insert are one transaction, serialised per
// tenant, so replicas creating at once cannot pass the limit together.
func (s *Store) CreateEventTypeWithin(ctx context.Context, t *models.EventType, limit int) error {
	if t.TenantID == "" {
		return errors.New("store: an event type needs a tenant, or models.GlobalTenant")
	}
	if t.TenantID == models.GlobalTenant {
		limit = 0
	}
	now := Now()
	t.ID, t.Version, t.Deleted, t.CreatedAt, t.UpdatedAt = uuid.Must(uuid.NewV7()).String(), 1, false, now, now
	return translate(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if limit > 0 {
			if s.dialect == Postgres {
				// SQLite's write transactions are serialised already.
				if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext(?))", "event_types/"+t.TenantID).Error; err != nil {
					return err
				}
			}
			var n int64
			if err := tx.Model(&models.EventType{}).Where("tenant_id = ? AND NOT deleted", t.TenantID).Count(&n).Error; err != nil {
				return err
			}
			if n >= int64(limit) {
				return &QuotaError{Tenant: t.TenantID, What: "event types", Limit: limit}
			}
		}
		if s.dialect == Postgres {
			// Serialises creates of one name across scopes, which the
			// unique index cannot (SQLite runs one writer at a time).
			if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('event_type:' || ?))", t.Name).Error; err != nil {
				return err
			}
		}
		other := tx.Model(&models.EventType{}).Where("name = ? AND NOT deleted", t.Name)
		if t.TenantID == models.GlobalTenant {
			other = other.Where("tenant_id <> ?", models.GlobalTenant)
		} else {
			other = other.Where("tenant_id = ?", models.GlobalTenant)
		}
		var n int64
		if err := other.Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			if t.TenantID == models.GlobalTenant {
				return ErrTenantTypeName
			}
			return ErrGlobalTypeName
		}
		return tx.Create(t).Error
	}))
}

// GetEventType returns the type with id, deleted or not.
func (s *Store) GetEventType(ctx context.Context, id string) (*models.EventType, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var t models.EventType
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

// GetEventTypeByName returns the live type called name that the tenant
// sees: its own or a global one.
func (s *Store) GetEventTypeByName(ctx context.Context, tenant, name string) (*models.EventType, error) {
	var t models.EventType
	err := s.db.WithContext(ctx).Where("tenant_id IN ? AND name = ? AND NOT deleted", []string{tenant, models.GlobalTenant}, name).
		Order("tenant_id").Take(&t).Error
	if err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

// ValidatingEventTypes returns the live types the tenant sees (its own and
// the global ones) that ingest checks events against: those with validate.
func (s *Store) ValidatingEventTypes(ctx context.Context, tenant string) ([]models.EventType, error) {
	var ts []models.EventType
	err := s.db.WithContext(ctx).Where("tenant_id IN ? AND validate AND NOT deleted", []string{tenant, models.GlobalTenant}).
		Order("name").Find(&ts).Error
	return ts, err
}

// EventTypePage selects a page of live types ordered by (name, id).
type EventTypePage struct {
	// TenantID is whose catalog: that tenant's types and the global ones;
	// models.GlobalTenant for the global ones alone; empty for every
	// tenant's and the global ones (the admin).
	TenantID string
	Limit    int
	// AfterName and AfterID are the last row of the previous page. In one
	// tenant's view names are unique, so the name alone will do (AfterID
	// empty); every tenant's list needs both.
	AfterName string
	AfterID   string
}

// ListEventTypes returns one page and how many types the whole list holds.
func (s *Store) ListEventTypes(ctx context.Context, p EventTypePage) ([]models.EventType, int64, error) {
	db := s.db.WithContext(ctx)
	var total int64
	count := db.Model(&models.EventType{}).Where("NOT deleted")
	if scopes := p.scopes(); scopes != nil {
		count = count.Where("tenant_id IN ?", scopes)
	}
	if err := count.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var ts []models.EventType
	err := listEventTypes(db, p).Scan(&ts).Error
	return ts, total, err
}

// scopes are the tenant_id values the page reads, nil for all.
func (p EventTypePage) scopes() []string {
	switch p.TenantID {
	case "":
		return nil
	case models.GlobalTenant:
		return []string{models.GlobalTenant}
	}
	return []string{p.TenantID, models.GlobalTenant}
}

// listEventTypes is the page query. A tenant's view is two index scans (its
// own types, the global ones), each in name order and cut at the limit, and
// merged: no sort, and no reading of other tenants' types.
func listEventTypes(db *gorm.DB, p EventTypePage) *gorm.DB {
	scan := func(q *gorm.DB) *gorm.DB {
		q = q.Model(&models.EventType{}).Where("NOT deleted")
		switch {
		case p.AfterID != "":
			q = q.Where("(name, id) > (?, ?)", p.AfterName, p.AfterID)
		case p.AfterName != "":
			q = q.Where("name > ?", p.AfterName)
		}
		return q.Order("name, id").Limit(p.Limit)
	}
	scopes := p.scopes()
	switch len(scopes) {
	case 0:
		return scan(db)
	case 1:
		return scan(db.Where("tenant_id = ?", scopes[0]))
	}
	own := scan(db.Session(&gorm.Session{NewDB: true}).Where("tenant_id = ?", scopes[0]))
	global := scan(db.Session(&gorm.Session{NewDB: true}).Where("tenant_id = ?", scopes[1]))
	// Each scan in its own subquery: SQLite takes no ORDER BY or LIMIT on
	// a member of a UNION.
	return db.Raw("SELECT * FROM (SELECT * FROM (?) AS own UNION ALL SELECT * FROM (?) AS global) AS t ORDER BY name, id LIMIT ?",
		own, global, p.Limit)
}

// UpdateEventType writes t's description, schema, examples, deprecated and
// validate if the live type's version is still expectVersion (optimistic
// locking), and moves the version on: ErrStale otherwise, ErrNotFound when
// it is deleted or was never there. The name and the tenant never change.
// On success t holds the new version and time.
func (s *Store) UpdateEventType(ctx context.Context, t *models.EventType, expectVersion int64) error {
	if !validID(t.ID) {
		return ErrNotFound
	}
	now := Now()
	res := s.db.WithContext(ctx).Model(&models.EventType{}).Where("id = ? AND version = ? AND NOT deleted", t.ID, expectVersion).
		Select("description", "schema", "examples", "deprecated", "validate", "version", "updated_by", "updated_at").
		Updates(&models.EventType{Description: t.Description, Schema: t.Schema, Examples: t.Examples, Deprecated: t.Deprecated,
			Validate: t.Validate, Version: expectVersion + 1, UpdatedBy: t.UpdatedBy, UpdatedAt: now})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		cur, err := s.GetEventType(ctx, t.ID)
		if err != nil {
			return err
		}
		if cur.Deleted {
			return ErrNotFound
		}
		return ErrStale
	}
	t.Version, t.UpdatedAt = expectVersion+1, now
	return nil
}

// SoftDeleteEventType marks the live type deleted, which frees its name;
// events of that type are then accepted as of an unknown type. Its schema
// and examples go: nothing reads a deleted type's, and the quota counts
// live types only, so a tenant creating and deleting types of 256 KiB
// schemas would otherwise grow the table without bound.
func (s *Store) SoftDeleteEventType(ctx context.Context, id, by string) error {
	if !validID(id) {
		return ErrNotFound
	}
	res := s.db.WithContext(ctx).Model(&models.EventType{}).Where("id = ? AND NOT deleted", id).
		Updates(map[string]any{"deleted": true, "version": gorm.Expr("version + 1"), "updated_by": by, "updated_at": Now(),
			"schema": gorm.Expr("NULL"), "examples": gorm.Expr("NULL")})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// CatalogVersion moves whenever any type the tenant sees changes (its own
// or a global one), whoever changed it: a database trigger counts changes
// per scope, and this adds the tenant's count to the global one. A replica
// that caches a tenant's catalog compares it to notice changes made
// elsewhere. 0 means neither scope ever had a type.
func (s *Store) CatalogVersion(ctx context.Context, tenant string) (int64, error) {
	var v int64
	err := s.db.WithContext(ctx).Raw("SELECT COALESCE(SUM(version), 0) FROM catalog_versions WHERE tenant_id IN ?",
		[]string{tenant, models.GlobalTenant}).Scan(&v).Error
	return v, err
}
