package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/models"
)

// spy records what the service tells the matcher, the dispatcher and the
// starter.
type spy struct {
	mu     sync.Mutex
	events []string
}

func (s *spy) add(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *spy) Invalidate(tenant string)                      { s.add("invalidate " + tenant) }
func (s *spy) StopDeliveries(_ context.Context, id string)   { s.add("stop " + id) }
func (s *spy) HardDelete(_ context.Context, id string) error { s.add("hard delete " + id); return nil }
func (s *spy) Wake()                                         { s.add("wake") }
func (s *spy) WakeRateWaiters(_ context.Context, id string)  { s.add("wake rate waiters " + id) }
func (s *spy) WakeConcurrencyWaiters(_ context.Context, id string, n int) {
	s.add(fmt.Sprintf("wake %d concurrency waiters %s", n, id))
}

func (s *spy) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

func spec(name string) webhooks.Spec {
	return webhooks.Spec{Name: name, WebhookType: "Generic",
		EventFilters: []models.EventFilter{{EventType: "order.created"}},
		Config:       &webhooks.Config{Endpoint: "https://example.com/hooks"}}
}

func newService(t *testing.T) (*webhooks.Service, *spy, *store.Store) {
	s := storetest.Open(t, store.Postgres)
	sp := &spy{}
	svc := webhooks.New(s, sp, sp)
	return svc, sp, s
}

func expect(t *testing.T, sp *spy, what string, want ...string) {
	t.Helper()
	if got := sp.take(); !slices.Equal(got, want) {
		t.Fatalf("%s told %q, want %q", what, got, want)
	}
}

// TestEveryWriteKeepsMatchingAndDeliveriesInStep: each write tells the
// matcher itself, and a disable or delete stops the deliveries; a write
// that changes nothing tells no one.
func TestEveryWriteKeepsMatchingAndDeliveriesInStep(t *testing.T) {
	svc, sp, _ := newService(t)
	ctx := context.Background()
	w, err := svc.Create(ctx, "acme", spec("orders"), "api")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "create", "invalidate acme")

	same, err := svc.Update(ctx, w, spec("orders"), "api")
	if err != nil || same.Version != w.Version {
		t.Fatalf("an update that changes nothing: version %v → %v, %v", w.Version, same.Version, err)
	}
	expect(t, sp, "an update that changes nothing")

	edit := spec("orders")
	edit.Description = "order events"
	w, err = svc.Update(ctx, w, edit, "api")
	if err != nil || w.Version != 0.2 || w.Description != "order events" {
		t.Fatalf("update: %+v %v", w, err)
	}
	expect(t, sp, "update", "invalidate acme")

	// A rateLimit set or lowered leaves the waiters asleep (their slots
	// come no sooner); raised or removed, they are woken.
	for _, step := range []struct {
		rate  *float64
		woken bool
	}{{new(2.0), false}, {new(1.0), false}, {new(5.0), true}, {nil, true}} {
		limited := edit
		limited.Config = &webhooks.Config{Endpoint: edit.Config.Endpoint, RateLimit: step.rate}
		if w, err = svc.Update(ctx, w, limited, "api"); err != nil {
			t.Fatal(err)
		}
		want := []string{"invalidate acme"}
		if step.woken {
			want = append(want, "wake rate waiters "+w.ID)
		}
		expect(t, sp, "rateLimit edited", want...)
	}
	// A maxConcurrency raised wakes as many waiters as it adds slots
	// (unset: the default, 10); lowered, none.
	for _, step := range []struct {
		most  *int
		woken int
	}{{new(4), 0}, {nil, 6}, {new(12), 2}, {new(11), 0}} {
		limited := edit
		limited.Config = &webhooks.Config{Endpoint: edit.Config.Endpoint, MaxConcurrency: step.most}
		if w, err = svc.Update(ctx, w, limited, "api"); err != nil {
			t.Fatal(err)
		}
		want := []string{"invalidate acme"}
		if step.woken > 0 {
			want = append(want, fmt.Sprintf("wake %d concurrency waiters %s", step.woken, w.ID), "wake")
		}
		expect(t, sp, "maxConcurrency edited", want...)
	}
	// Both raised in one edit: both kinds of waiter are woken.
	both := edit
	both.Config = &webhooks.Config{Endpoint: edit.Config.Endpoint, MaxConcurrency: new(15), RateLimit: new(3.0)}
	if w, err = svc.Update(ctx, w, both, "api"); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "rateLimit set, maxConcurrency raised", "invalidate acme", "wake 4 concurrency waiters "+w.ID, "wake")
	both.Config.MaxConcurrency, both.Config.RateLimit = new(16), new(4.0)
	if w, err = svc.Update(ctx, w, both, "api"); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "both raised", "invalidate acme", "wake rate waiters "+w.ID, "wake 1 concurrency waiters "+w.ID, "wake")

	off := edit
	off.Enabled = new(bool)
	// Disabled with a limit raised: the deliveries stop, nobody is woken.
	off.Config = &webhooks.Config{Endpoint: edit.Config.Endpoint, MaxConcurrency: new(30), RateLimit: new(8.0)}
	w, err = svc.Update(ctx, w, off, "api")
	if err != nil || w.Enabled || w.Status != models.WebhookDisabled {
		t.Fatalf("disable: %+v %v", w, err)
	}
	expect(t, sp, "disable", "invalidate acme", "stop "+w.ID)

	if w, err = svc.Pause(ctx, w, "api"); err != nil || !w.Paused {
		t.Fatalf("pause: %v", err)
	}
	expect(t, sp, "pause", "invalidate acme")
	if _, _, err = svc.Resume(ctx, w, "api"); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "resume", "invalidate acme", "wake")

	if w, err = svc.Delete(ctx, w, false, "api"); err != nil || !w.Deleted {
		t.Fatalf("soft delete: %+v %v", w, err)
	}
	expect(t, sp, "soft delete", "stop "+w.ID, "invalidate acme")
	if _, err = svc.Delete(ctx, w, true, "api"); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "hard delete", "hard delete "+w.ID, "invalidate acme")
}

// TestInvalidWritesChangeNothing: a refused spec names its field and tells
// no one; a name taken is its own error.
func TestInvalidWritesChangeNothing(t *testing.T) {
	svc, sp, s := newService(t)
	ctx := context.Background()
	bad := spec("orders")
	bad.Config.Timeout = new(int)
	var fe *webhooks.FieldError
	if _, err := svc.Create(ctx, "acme", bad, "api"); !errors.As(err, &fe) || fe.Path != "webhookConfig.timeout" {
		t.Fatalf("a zero timeout: %v", err)
	}
	bad = spec("orders")
	bad.EventFilters = []models.EventFilter{{EventType: ""}}
	if _, err := svc.Create(ctx, "acme", bad, "api"); !errors.As(err, &fe) || fe.Path != "eventFilters[0].eventType" {
		t.Fatalf("an empty event type: %v", err)
	}
	if _, err := svc.Create(ctx, "acme", spec("orders"), "api"); err != nil {
		t.Fatal(err)
	}
	sp.take()
	var taken *webhooks.NameTakenError
	if _, err := svc.Create(ctx, "acme", spec("orders"), "api"); !errors.As(err, &taken) || taken.Name != "orders" {
		t.Fatalf("a name taken: %v", err)
	}
	expect(t, sp, "refused writes")
	if ws, n, err := s.ListWebhooks(ctx, store.WebhookPage{TenantID: "acme", Limit: 10}); err != nil || n != 1 {
		t.Fatalf("stored %d webhooks (%v): %v", n, ws, err)
	}
}
