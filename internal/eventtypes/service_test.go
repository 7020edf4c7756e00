package eventtypes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/catalog"
	"github.com/webhookd/webhookd/internal/eventtypes"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

const schema = `{"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}`

func spec(name string) eventtypes.Spec {
	return eventtypes.Spec{Name: name, Description: "An invoice was paid.", Schema: json.RawMessage(schema),
		Examples: json.RawMessage(`[{"amount": 12.5}]`), Validate: true}
}

func TestWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc := eventtypes.New(s)
		et, err := svc.Create(ctx, "acme", spec("invoice.paid"), "api")
		if err != nil || et.ID == "" || et.Version != 1 || et.TenantID != "acme" || et.UpdatedBy != "api" {
			t.Fatalf("create: %+v %v", et, err)
		}
		// A type is checked before it is stored.
		for _, c := range []struct {
			in   eventtypes.Spec
			path string
		}{
			{eventtypes.Spec{Name: "webhookd.mine"}, "name"},
			{eventtypes.Spec{Name: "a b"}, "name"},
			{eventtypes.Spec{Name: "x", Schema: json.RawMessage(`{"type": "nope"}`)}, "schema"},
			{eventtypes.Spec{Name: "x", Validate: true}, "validate"},
			{eventtypes.Spec{Name: "x", Schema: json.RawMessage(schema), Examples: json.RawMessage(`[{"amount": "1"}]`)}, "examples[0]/amount"},
		} {
			_, err := svc.Create(ctx, "acme", c.in, "api")
			var fe *catalog.FieldError
			if !errors.As(err, &fe) || fe.Path != c.path {
				t.Errorf("%+v: %v, want a field error at %s", c.in, err, c.path)
			}
		}
		// Names: unique where they are seen.
		for _, c := range []struct {
			tenant, name, where string
		}{
			{"acme", "invoice.paid", ""},
			{models.GlobalTenant, "invoice.paid", "tenant"},
		} {
			_, err := svc.Create(ctx, c.tenant, spec(c.name), "api")
			var nt *eventtypes.NameTakenError
			if !errors.As(err, &nt) || nt.Where != c.where {
				t.Errorf("%s/%s: %v, want taken (%q)", c.tenant, c.name, err, c.where)
			}
		}
		if _, err := svc.Create(ctx, models.GlobalTenant, spec("user.signed_up"), "admin"); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Create(ctx, "beta", spec("user.signed_up"), "api")
		var nt *eventtypes.NameTakenError
		if !errors.As(err, &nt) || nt.Where != "global" {
			t.Errorf("a tenant's type named like a global one: %v", err)
		}
		// Updates: the name stays; nothing new keeps the version; a
		// concurrent change is stale.
		in := spec("invoice.paid")
		in.Name = "invoice.settled"
		var fe *catalog.FieldError
		if _, err := svc.Update(ctx, et, in, "api"); !errors.As(err, &fe) || fe.Path != "name" {
			t.Fatalf("rename: %v", err)
		}
		same := spec("invoice.paid")
		same.Schema = json.RawMessage("{\n  \"type\": \"object\", \"required\": [\"amount\"], \"properties\": {\"amount\": {\"type\": \"number\"}}\n}")
		if got, err := svc.Update(ctx, et, same, "api"); err != nil || got.Version != 1 {
			t.Fatalf("the same type again: %+v %v", got, err)
		}
		in = spec("invoice.paid")
		in.Deprecated = true
		next, err := svc.Update(ctx, et, in, "console")
		if err != nil || next.Version != 2 || !next.Deprecated || next.UpdatedBy != "console" {
			t.Fatalf("deprecate: %+v %v", next, err)
		}
		in = spec("invoice.paid")
		in.Description = "changed meanwhile"
		if _, err := svc.Update(ctx, et, in, "api"); !errors.Is(err, store.ErrStale) {
			t.Fatalf("an update from version 1 after version 2: %v", err)
		}
		// Built-in types are read-only.
		b, _ := catalog.Builtin(catalog.TypeTest)
		if _, err := svc.Update(ctx, &b, eventtypes.Spec{Name: b.Name}, "api"); !errors.Is(err, eventtypes.ErrBuiltIn) {
			t.Fatalf("update a built-in: %v", err)
		}
		if _, err := svc.Delete(ctx, &b, "api"); !errors.Is(err, eventtypes.ErrBuiltIn) {
			t.Fatalf("delete a built-in: %v", err)
		}
		gone, err := svc.Delete(ctx, next, "api")
		if err != nil || !gone.Deleted {
			t.Fatalf("delete: %+v %v", gone, err)
		}
		if _, err := svc.Create(ctx, "acme", spec("invoice.paid"), "api"); err != nil {
			t.Fatalf("a deleted type's name is free: %v", err)
		}
	})
}

// TestQuota: a tenant's live types are capped (TENANT_MAX_EVENT_TYPES),
// across replicas, on both databases; a deleted type frees its place, the
// cap is per tenant, and global types have none. Schema and examples are
// bounded in size.
func TestQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := eventtypes.New(s), eventtypes.New(s) // two replicas
		a.MaxPerTenant, b.MaxPerTenant = 2, 2
		first, err := a.Create(ctx, "acme", spec("t.1"), "api")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Create(ctx, "acme", spec("t.2"), "api"); err != nil {
			t.Fatal(err)
		}
		var qe *store.QuotaError
		if _, err := a.Create(ctx, "acme", spec("t.3"), "api"); !errors.As(err, &qe) || qe.What != "event types" || qe.Limit != 2 {
			t.Fatalf("past the quota: %v", err)
		}
		if _, err := b.Create(ctx, "beta", spec("t.3"), "api"); err != nil {
			t.Fatalf("another tenant: %v", err)
		}
		for i := range 3 {
			if _, err := a.Create(ctx, models.GlobalTenant, spec(fmt.Sprintf("g.%d", i)), "admin"); err != nil {
				t.Fatalf("a global type: %v", err)
			}
		}
		if _, err := a.Delete(ctx, first, "api"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Create(ctx, "acme", spec("t.3"), "api"); err != nil {
			t.Fatalf("after a delete: %v", err)
		}
		big := spec("t.big")
		big.Schema = json.RawMessage(`{"description": "` + strings.Repeat("x", catalog.MaxSchema) + `"}`)
		var fe *catalog.FieldError
		if _, err := a.Create(ctx, "beta", big, "api"); !errors.As(err, &fe) || fe.Path != "schema" {
			t.Errorf("a schema over 256 KiB: %v", err)
		}
		big = spec("t.big")
		big.Examples = json.RawMessage(`[{"amount": 1, "x": "` + strings.Repeat("x", catalog.MaxExamples) + `"}]`)
		if _, err := a.Create(ctx, "beta", big, "api"); !errors.As(err, &fe) || fe.Path != "examples" {
			t.Errorf("examples over 64 KiB: %v", err)
		}
	})
}
