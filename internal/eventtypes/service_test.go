package eventtypes_test

import (
	"context"
	"encoding/json"
	"errors"
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
