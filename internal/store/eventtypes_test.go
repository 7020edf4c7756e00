package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// A schema whose key order is not alphabetical: it must read back as written.
const typeSchema = `{"type":"object","required":["orderId"],"properties":{"orderId":{"type":"integer"},"amount":{"type":"number"},"currency":{"enum":["EUR","USD"]}}}`

func newEventType(tenant, name string) *models.EventType {
	return &models.EventType{TenantID: tenant, Name: name, Description: "about " + name,
		Schema: json.RawMessage(typeSchema), Examples: json.RawMessage(`[{"orderId":1,"amount":2.5}]`), Validate: true, UpdatedBy: "api"}
}

func mustCreateType(t *testing.T, s *store.Store, et *models.EventType) *models.EventType {
	t.Helper()
	if err := s.CreateEventType(context.Background(), et); err != nil {
		t.Fatalf("create %s/%s: %v", et.TenantID, et.Name, err)
	}
	return et
}

func TestEventTypeRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		et := mustCreateType(t, s, newEventType("acme", "order.created"))
		if et.ID == "" || et.Version != 1 || et.CreatedAt.IsZero() {
			t.Fatalf("create did not fill id, version, times: %+v", et)
		}
		got, err := s.GetEventType(ctx, et.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "order.created" || got.TenantID != "acme" || got.Description != "about order.created" ||
			string(got.Schema) != typeSchema || string(got.Examples) != `[{"orderId":1,"amount":2.5}]` ||
			!got.Validate || got.Deprecated || got.Version != 1 || got.UpdatedBy != "api" || !got.CreatedAt.Equal(et.CreatedAt) {
			t.Fatalf("round trip changed the type: %+v\nschema %s", got, got.Schema)
		}
		bare := mustCreateType(t, s, &models.EventType{TenantID: "acme", Name: "ping"})
		if got, _ := s.GetEventType(ctx, bare.ID); got.Schema != nil || got.Examples != nil {
			t.Fatalf("a type without schema reads back %q %q", got.Schema, got.Examples)
		}
		if _, err := s.GetEventType(ctx, "0190a000-0000-7000-8000-00000000ffff"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if _, err := s.GetEventType(ctx, "order.created"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("not an id: %v", err)
		}
		if err := s.CreateEventType(ctx, &models.EventType{Name: "x"}); err == nil {
			t.Fatal("a type without a tenant was created")
		}
	})
}

// TestTenantsSeeOwnAndGlobalTypesOnly: a tenant reads its own types and the
// global ones, by name and in lists, never another tenant's.
func TestTenantsSeeOwnAndGlobalTypesOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mustCreateType(t, s, newEventType("acme", "order.created"))
		mustCreateType(t, s, newEventType("acme", "invoice.paid"))
		beta := mustCreateType(t, s, newEventType("beta", "order.created"))
		mustCreateType(t, s, newEventType("beta", "shipment.sent"))
		global := mustCreateType(t, s, newEventType(models.GlobalTenant, "user.signed_up"))

		list := func(tenant string) string {
			t.Helper()
			ts, total, err := s.ListEventTypes(ctx, store.EventTypePage{TenantID: tenant, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, et := range ts {
				names = append(names, et.TenantID+"/"+et.Name)
			}
			return fmt.Sprintf("%s (%d)", strings.Join(names, " "), total)
		}
		for tenant, want := range map[string]string{
			"acme":              "acme/invoice.paid acme/order.created */user.signed_up (3)",
			"beta":              "beta/order.created beta/shipment.sent */user.signed_up (3)",
			"gamma":             "*/user.signed_up (1)",
			models.GlobalTenant: "*/user.signed_up (1)",
			"":                  "acme/invoice.paid acme/order.created beta/order.created beta/shipment.sent */user.signed_up (5)",
		} {
			if got := list(tenant); got != want {
				t.Errorf("%q sees %s, want %s", tenant, got, want)
			}
		}
		for _, c := range []struct {
			tenant, name, wantID string
		}{
			{"beta", "order.created", beta.ID},
			{"acme", "user.signed_up", global.ID},
			{"gamma", "user.signed_up", global.ID},
			{"gamma", "order.created", ""},
			{"acme", "shipment.sent", ""},
		} {
			got, err := s.GetEventTypeByName(ctx, c.tenant, c.name)
			if c.wantID == "" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s reads %s: %v %v", c.tenant, c.name, got, err)
				}
			} else if err != nil || got.ID != c.wantID {
				t.Errorf("%s reads %s: %v %v", c.tenant, c.name, got, err)
			}
		}
	})
}

// TestEventTypeNames: a live name is unique in its scope, and no tenant's
// name is also a global one, whichever came first; deleting frees a name.
func TestEventTypeNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := mustCreateType(t, s, newEventType("acme", "order.created"))
		if err := s.CreateEventType(ctx, newEventType("acme", "order.created")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same name, same tenant: %v", err)
		}
		mustCreateType(t, s, newEventType("beta", "order.created")) // another tenant's scope
		if err := s.CreateEventType(ctx, newEventType(models.GlobalTenant, "order.created")); !errors.Is(err, store.ErrConflict) ||
			!errors.Is(err, store.ErrTenantTypeName) {
			t.Fatalf("a global type over tenants' names: %v", err)
		}
		mustCreateType(t, s, newEventType(models.GlobalTenant, "user.signed_up"))
		if err := s.CreateEventType(ctx, newEventType(models.GlobalTenant, "user.signed_up")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("two global types of one name: %v", err)
		}
		if err := s.CreateEventType(ctx, newEventType("gamma", "user.signed_up")); !errors.Is(err, store.ErrConflict) ||
			!errors.Is(err, store.ErrGlobalTypeName) {
			t.Fatalf("a tenant shadowing a global type: %v", err)
		}
		// Soft delete frees the name.
		if err := s.SoftDeleteEventType(ctx, first.ID, "api"); err != nil {
			t.Fatal(err)
		}
		if err := s.SoftDeleteEventType(ctx, first.ID, "api"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		again := mustCreateType(t, s, newEventType("acme", "order.created"))
		if got, err := s.GetEventTypeByName(ctx, "acme", "order.created"); err != nil || got.ID != again.ID {
			t.Fatalf("the live type by name: %v %v", got, err)
		}
		if old, err := s.GetEventType(ctx, first.ID); err != nil || !old.Deleted || old.Version != 2 {
			t.Fatalf("the deleted type by id: %+v %v", old, err)
		}
		// A deleted type keeps no schema or examples (the quota counts live
		// types: create and delete would otherwise grow the table).
		if old, _ := s.GetEventType(ctx, first.ID); len(old.Schema) != 0 || len(old.Examples) != 0 {
			t.Fatalf("a deleted type keeps schema %s and examples %s", old.Schema, old.Examples)
		}
	})
}

func TestEventTypeUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		et := mustCreateType(t, s, newEventType("acme", "order.created"))
		changed := *et
		changed.Name, changed.TenantID = "renamed", "beta" // neither is written
		changed.Description, changed.Schema, changed.Examples = "new", nil, json.RawMessage(`[]`)
		changed.Deprecated, changed.Validate, changed.UpdatedBy = true, false, "tenant:acme"
		if err := s.UpdateEventType(ctx, &changed, 1); err != nil {
			t.Fatal(err)
		}
		if changed.Version != 2 || !changed.UpdatedAt.After(et.UpdatedAt) && !changed.UpdatedAt.Equal(et.UpdatedAt) {
			t.Fatalf("after update: %+v", changed)
		}
		got, _ := s.GetEventType(ctx, et.ID)
		if got.Name != "order.created" || got.TenantID != "acme" || got.Description != "new" || got.Schema != nil ||
			string(got.Examples) != `[]` || !got.Deprecated || got.Validate || got.Version != 2 || got.UpdatedBy != "tenant:acme" {
			t.Fatalf("stored: %+v", got)
		}
		// A writer that read version 1 is too late.
		if err := s.UpdateEventType(ctx, &changed, 1); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale update: %v", err)
		}
		if err := s.SoftDeleteEventType(ctx, et.ID, "api"); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateEventType(ctx, &changed, 3); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a deleted type: %v", err)
		}
		if err := s.UpdateEventType(ctx, &models.EventType{ID: "0190a000-0000-7000-8000-00000000ffff"}, 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a missing type: %v", err)
		}
	})
}

// TestCatalogVersionMoves: every change a tenant could see moves its
// catalog version, and nothing else does.
func TestCatalogVersionMoves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		version := func(tenant string) int64 {
			t.Helper()
			v, err := s.CatalogVersion(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := version("acme"); v != 0 {
			t.Fatalf("empty catalog: %d", v)
		}
		et := mustCreateType(t, s, newEventType("acme", "order.created"))
		v1 := version("acme")
		if v1 == 0 || version("beta") != 0 {
			t.Fatalf("after acme's create: acme %d, beta %d", v1, version("beta"))
		}
		mustCreateType(t, s, newEventType(models.GlobalTenant, "user.signed_up"))
		v2, b2 := version("acme"), version("beta")
		if v2 <= v1 || b2 == 0 {
			t.Fatalf("a global type moves every tenant: acme %d→%d, beta %d", v1, v2, b2)
		}
		if err := s.UpdateEventType(ctx, et, 1); err != nil {
			t.Fatal(err)
		}
		v3 := version("acme")
		if v3 <= v2 || version("beta") != b2 {
			t.Fatalf("acme's update: acme %d→%d, beta %d→%d", v2, v3, b2, version("beta"))
		}
		if err := s.SoftDeleteEventType(ctx, et.ID, "api"); err != nil {
			t.Fatal(err)
		}
		if v4 := version("acme"); v4 <= v3 {
			t.Fatalf("acme's delete: %d→%d", v3, v4)
		}
	})
}

// TestEventTypePaging walks a tenant's catalog (its own types interleaved
// with global ones) a page at a time: every type once, in name order.
func TestEventTypePaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var want []string
		for i := range 7 {
			tenant := "acme"
			if i%3 == 0 {
				tenant = models.GlobalTenant
			}
			name := fmt.Sprintf("type.%02d", i)
			mustCreateType(t, s, newEventType(tenant, name))
			want = append(want, name)
		}
		mustCreateType(t, s, newEventType("beta", "type.03b"))
		var got []string
		p := store.EventTypePage{TenantID: "acme", Limit: 3}
		for range 10 {
			page, total, err := s.ListEventTypes(ctx, p)
			if err != nil || total != 7 {
				t.Fatalf("page after %q: %v, total %d", p.AfterName, err, total)
			}
			for _, et := range page {
				got = append(got, et.Name)
			}
			if len(page) < p.Limit {
				break
			}
			p.AfterName, p.AfterID = page[len(page)-1].Name, page[len(page)-1].ID
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("paged %v, want %v", got, want)
		}
		// Within one tenant's view the name alone is a cursor.
		page, _, err := s.ListEventTypes(ctx, store.EventTypePage{TenantID: "acme", Limit: 2, AfterName: "type.03"})
		if err != nil || len(page) != 2 || page[0].Name != "type.04" || page[1].Name != "type.05" {
			t.Fatalf("after type.03 by name: %v %v", page, err)
		}
	})
}

// TestTenantDeletionRemovesItsEventTypes: a deleted tenant's types go with
// it; global types and other tenants' stay.
func TestTenantDeletionRemovesItsEventTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mine := mustCreateType(t, s, newEventType("acme", "order.created"))
		mustCreateType(t, s, newEventType("beta", "order.created"))
		mustCreateType(t, s, newEventType(models.GlobalTenant, "user.signed_up"))
		p, err := s.DeleteTenantData(ctx, "acme")
		if err != nil || p.EventTypes != 1 {
			t.Fatalf("purge: %+v %v", p, err)
		}
		if _, err := s.GetEventType(ctx, mine.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("acme's type: %v", err)
		}
		if _, total, _ := s.ListEventTypes(ctx, store.EventTypePage{Limit: 10}); total != 2 {
			t.Fatalf("%d types left, want beta's and the global one", total)
		}
	})
}

// TestVersionsMove: one read gives both counters; each moves with what it
// counts, for the tenant and for changes every tenant sees, and another
// tenant's changes move neither.
func TestVersionsMove(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		read := func(tenant string) store.Versions {
			t.Helper()
			v, err := s.Versions(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := read("acme"); v != (store.Versions{}) {
			t.Fatalf("nothing yet: %+v", v)
		}
		w := newWebhook("orders")
		w.TenantID = "acme"
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		v1 := read("acme")
		if v1.Webhooks == 0 || v1.Catalog != 0 {
			t.Fatalf("after a webhook: %+v", v1)
		}
		mustCreateType(t, s, newEventType("acme", "order.created"))
		v2 := read("acme")
		if v2.Webhooks != v1.Webhooks || v2.Catalog == 0 {
			t.Fatalf("after a type: %+v → %+v", v1, v2)
		}
		mustCreateType(t, s, newEventType(models.GlobalTenant, "user.signed_up"))
		if v3 := read("acme"); v3.Catalog <= v2.Catalog {
			t.Fatalf("a global type: %+v → %+v", v2, v3)
		}
		before := read("acme")
		mustCreateType(t, s, newEventType("beta", "order.created"))
		other := newWebhook("orders")
		other.TenantID = "beta"
		if err := s.CreateWebhook(ctx, other); err != nil {
			t.Fatal(err)
		}
		if after := read("acme"); after != before {
			t.Fatalf("beta's changes moved acme's versions: %+v → %+v", before, after)
		}
	})
}

// TestValidatingEventTypes: ingest reads the live types with validate that
// the tenant sees: its own and the global ones.
func TestValidatingEventTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mustCreateType(t, s, newEventType("acme", "order.created"))
		loose := newEventType("acme", "order.noted")
		loose.Validate = false
		mustCreateType(t, s, loose)
		mustCreateType(t, s, newEventType(models.GlobalTenant, "user.signed_up"))
		mustCreateType(t, s, newEventType("beta", "invoice.paid"))
		gone := mustCreateType(t, s, newEventType("acme", "order.deleted"))
		if err := s.SoftDeleteEventType(ctx, gone.ID, "api"); err != nil {
			t.Fatal(err)
		}
		ts, err := s.ValidatingEventTypes(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, et := range ts {
			names = append(names, et.TenantID+"/"+et.Name)
		}
		if got := strings.Join(names, " "); got != "acme/order.created */user.signed_up" {
			t.Fatalf("acme validates %s", got)
		}
	})
}

// TestEventTypeNamesSortByteWise: the API merges built-in types into a page
// and takes its cursor in Go's string order, so the database must sort
// names the same way whatever its collation (a language collation puts
// 'B' after 'a'): the column is in "C" on PostgreSQL, BINARY on SQLite.
func TestEventTypeNamesSortByteWise(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, n := range []string{"a.x", "B.x", "c.x", "_z", "Z"} {
			mustCreateType(t, s, newEventType("acme", n))
		}
		var got []string
		p := store.EventTypePage{TenantID: "acme", Limit: 2}
		for {
			page, _, err := s.ListEventTypes(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, et := range page {
				got = append(got, et.Name)
			}
			if len(page) < p.Limit {
				break
			}
			p.AfterName = page[len(page)-1].Name
		}
		if want := []string{"B.x", "Z", "_z", "a.x", "c.x"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("pages %v, want %v (byte order)", got, want)
		}
		if s.Dialect() == store.Postgres {
			collation, err := s.ColumnCollation(ctx, "event_types", "name")
			if err != nil {
				t.Fatal(err)
			}
			if collation != "C" {
				t.Errorf("event_types.name is in collation %q, want \"C\"", collation)
			}
		}
	})
}
