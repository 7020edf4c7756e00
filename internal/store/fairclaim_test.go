package store_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// outboxOf ingests n deliveries to each webhook, all of a webhook's
// deliveries older than the next webhook's (the order in which an
// oldest-first outbox would hand them out).
func outboxOf(t *testing.T, s *store.Store, hooks []*models.Webhook, n int) {
	t.Helper()
	ctx := context.Background()
	at := store.Now().Add(-time.Hour)
	for _, w := range hooks {
		for i := range n {
			at = at.Add(time.Millisecond)
			ev := newEvent(fmt.Sprintf("evt-%s-%d", w.Name, i), at)
			ev.TenantID = w.TenantID
			d := newDelivery(ev, w.ID, models.DeliveryPending, at)
			d.TenantID = w.TenantID
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// throttledWebhooks gives each tenant a webhook "throttled" with n
// deliveries in the outbox and its one request an hour already taken, so
// that every start waits for its rate; it returns each webhook's slot
// request, for the starts to ask with.
func throttledWebhooks(t *testing.T, s *store.Store, tenants []string, n int) map[string]store.SlotRequest {
	t.Helper()
	var hooks []*models.Webhook
	for _, tenant := range tenants {
		hooks = append(hooks, tenantWebhook(t, s, tenant, "throttled"))
	}
	outboxOf(t, s, hooks, n)
	limitOf := map[string]store.SlotRequest{}
	for _, w := range hooks {
		r := store.SlotRequest{DeliveryID: uuid.NewString(), WebhookID: w.ID, Holder: "taken",
			MaxConcurrency: 10, RateLimit: 1.0 / 3600, Lease: time.Minute}
		if got, err := s.AcquireSlot(context.Background(), r); err != nil || !got.Granted {
			t.Fatalf("the first request: %+v %v", got, err)
		}
		limitOf[w.ID] = r
	}
	return limitOf
}

func tenantWebhook(t *testing.T, s *store.Store, tenant, name string) *models.Webhook {
	t.Helper()
	w := newWebhook(name)
	w.TenantID = tenant
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestClaimForStartInterleavesTenantsThenWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// Tenant acme's two webhooks have the oldest backlog; beta's one
		// webhook came last.
		a1 := tenantWebhook(t, s, "acme", "a1")
		a2 := tenantWebhook(t, s, "acme", "a2")
		b1 := tenantWebhook(t, s, "beta", "b1")
		outboxOf(t, s, []*models.Webhook{a1, a2, b1}, 10)
		name := map[string]string{a1.ID: "a1", a2.ID: "a2", b1.ID: "b1"}

		ds, full, err := s.ClaimForStart(ctx, 6, 100, store.Now())
		if err != nil || full {
			t.Fatalf("claim: %v full=%v", err, full)
		}
		var got []string
		for _, d := range ds {
			got = append(got, name[d.WebhookID])
		}
		// Tenants alternate (acme first: ties go by tenant id), and acme's
		// places alternate between its webhooks (in either order).
		want := []string{"a1", "b1", "a2", "b1", "a1", "b1"}
		if got[0] == "a2" {
			want = []string{"a2", "b1", "a1", "b1", "a2", "b1"}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("claim order = %v, want %v", got, want)
		}
		// Each webhook's deliveries leave oldest first.
		for i := 1; i < len(ds); i++ {
			for j := range i {
				if ds[j].WebhookID == ds[i].WebhookID && !ds[j].CreatedAt.Before(ds[i].CreatedAt) {
					t.Fatalf("webhook %s: claim %d is not older than claim %d", name[ds[i].WebhookID], j, i)
				}
			}
		}

		// The window is shared: with 6 started of a window of 9 and two
		// tenants active, each may hold 9/3 = 3; beta holds 3, acme 3.
		// Nothing more is claimed until some start is attempted, although
		// the window has room: it is full for them.
		ds, full, err = s.ClaimForStart(ctx, 100, 9, store.Now())
		if err != nil || !full || len(ds) != 0 {
			t.Fatalf("claim at share: %d claimed, full=%v, %v", len(ds), full, err)
		}
		// A newcomer finds room at once.
		c1 := tenantWebhook(t, s, "gamma", "c1")
		outboxOf(t, s, []*models.Webhook{c1}, 3)
		ds, _, err = s.ClaimForStart(ctx, 100, 9, store.Now())
		// Four active webhooks: each may hold 9/5 = 1.
		if err != nil || len(ds) != 1 || ds[0].WebhookID != c1.ID {
			t.Fatalf("newcomer's claim: %d claimed, %v", len(ds), err)
		}
		if n, _ := s.CountStarting(ctx); n != 7 {
			t.Fatalf("starting = %d, want 7", n)
		}
	})
}

// TestClaimForStartStaysCheapWithALongOutbox: with 100,000 deliveries
// waiting, nearly all of one webhook's, finding the webhooks with waiting
// deliveries reads one index entry per webhook (not per delivery), and a
// claim takes each webhook's oldest from the same index.
func TestClaimForStartStaysCheapWithALongOutbox(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	a1 := tenantWebhook(t, s, "acme", "a1")
	a2 := tenantWebhook(t, s, "acme", "a2")
	b1 := tenantWebhook(t, s, "beta", "b1")
	db := storetest.Inspect(t, url)
	for _, w := range []struct {
		hook   *models.Webhook
		n      int
		offset int
	}{{a1, 99980, 0}, {a2, 10, 100000}, {b1, 10, 100010}} {
		db.Exec(fmt.Sprintf(`INSERT INTO events (tenant_id, id, type, timestamp, created_at)
			SELECT '%[1]s', 'evt-' || i, 'order.created', now(), now() - (200000 - i) * interval '1 millisecond'
			FROM generate_series(%[2]d, %[3]d) i`, w.hook.TenantID, w.offset, w.offset+w.n-1))
		db.Exec(fmt.Sprintf(`INSERT INTO deliveries (id, tenant_id, event_id, webhook_id, event_type, status, created_at, updated_at)
			SELECT gen_random_uuid(), '%[1]s', 'evt-' || i, '%[2]s', 'order.created', 'pending',
				now() - (200000 - i) * interval '1 millisecond', now()
			FROM generate_series(%[3]d, %[4]d) i`, w.hook.TenantID, w.hook.ID, w.offset, w.offset+w.n-1))
	}
	db.Exec(`ANALYZE deliveries`)

	plan, err := s.ExplainOutboxQueues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("webhooks with waiting deliveries:\n%s", plan)
	if !strings.Contains(plan, "deliveries_outbox") || strings.Contains(plan, "Seq Scan on deliveries") {
		t.Errorf("the search for waiting webhooks does not probe deliveries_outbox")
	}
	// A probe per webhook reads a handful of index pages, not the 100,000
	// entries (several hundred pages).
	if m := regexp.MustCompile(`Buffers: shared hit=(\d+)`).FindStringSubmatch(plan); m == nil {
		t.Errorf("no buffer counts in the plan")
	} else if hits, _ := strconv.Atoi(m[1]); hits > 100 {
		t.Errorf("the search read %d pages, want a few per webhook", hits)
	}
	start := time.Now()
	ds, _, err := s.ClaimForStart(ctx, 9, 100, store.Now())
	if err != nil || len(ds) != 9 {
		t.Fatalf("claim: %d, %v", len(ds), err)
	}
	t.Logf("claim of 9 among 100,000 waiting: %v", time.Since(start)) // shown, not asserted
	per := map[string]int{}
	for _, d := range ds {
		per[d.WebhookID]++
	}
	if per[b1.ID] < 4 || per[a2.ID] < 2 || per[a1.ID] < 2 {
		t.Fatalf("claims per webhook: a1 %d, a2 %d, b1 %d", per[a1.ID], per[a2.ID], per[b1.ID])
	}
}

// TestClaimForStartGivesNoPlaceToAnOpenBatch: a webhook whose only waiting
// delivery is a batch still open takes no place of the window, so the one
// place left goes to a delivery that can start.
func TestClaimForStartGivesNoPlaceToAnOpenBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// Tenant "a" sorts first: it would win the one place on a tie.
		batched := tenantWebhook(t, s, "a", "batched")
		plain := tenantWebhook(t, s, "b", "plain")
		ev := newEvent("batch-1", store.Now())
		ev.TenantID = "a"
		if _, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev, Batches: []store.BatchTarget{batchTarget(batched)}}}); err != nil {
			t.Fatal(err)
		}
		outboxOf(t, s, []*models.Webhook{plain}, 1)
		ds, _, err := s.ClaimForStart(ctx, 1, 100, store.Now())
		if err != nil || len(ds) != 1 || ds[0].WebhookID != plain.ID {
			t.Fatalf("claim with an open batch waiting: %+v, %v", ds, err)
		}
	})
}

// TestClaimForStartLeavesRateWaitersOutOfTheWindow: started deliveries
// waiting for their webhook's rate limit hold no place of the window nor
// of a share, so the webhook goes on starting, up to its bound (its share
// plus as many waiters, at most 2 per slot), and another tenant finds room
// although the waiters fill the window.
func TestClaimForStartLeavesRateWaitersOutOfTheWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		slow := newWebhook("slow")
		slow.TenantID, slow.MaxConcurrency = "acme", 3
		if err := s.CreateWebhook(ctx, slow); err != nil {
			t.Fatal(err)
		}
		outboxOf(t, s, []*models.Webhook{slow}, 30)
		// Its one request an hour is taken: every start waits for it.
		limit := store.SlotRequest{DeliveryID: uuid.NewString(), WebhookID: slow.ID, Holder: "taken",
			MaxConcurrency: 3, RateLimit: 1.0 / 3600, Lease: time.Minute}
		if got, err := s.AcquireSlot(ctx, limit); err != nil || !got.Granted {
			t.Fatalf("the first request: %+v %v", got, err)
		}
		claimWaiting := func(window int) int {
			t.Helper()
			ds, _, err := s.ClaimForStart(ctx, 100, window, store.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				limit.DeliveryID, limit.Holder = d.ID, d.ID
				if got, err := s.AcquireSlot(ctx, limit); err != nil || got.WaitingFor != models.WaitingForRateLimit {
					t.Fatalf("a start of the slow webhook: %+v %v", got, err)
				}
			}
			return len(ds)
		}
		// Alone, it may hold half a window of 8 ready; its waiters do not
		// count, until it holds 4 + 4 in all (2×3 per slot would be more).
		for i, want := range []int{4, 4, 0} {
			if n := claimWaiting(8); n != want {
				t.Fatalf("claim %d: %d claimed, want %d", i+1, n, want)
			}
		}
		if n, _ := s.CountStarting(ctx); n != 8 {
			t.Fatalf("starting = %d, want 8", n)
		}
		// Its 8 waiters fill the window; another tenant still gets its
		// share (8 ÷ 3), and the slow webhook no more.
		b1 := tenantWebhook(t, s, "beta", "b1")
		outboxOf(t, s, []*models.Webhook{b1}, 5)
		ds, full, err := s.ClaimForStart(ctx, 100, 8, store.Now())
		if err != nil || full || len(ds) != 2 || ds[0].WebhookID != b1.ID || ds[1].WebhookID != b1.ID {
			t.Fatalf("beside 8 waiters: %d claimed, full=%v, %v", len(ds), full, err)
		}
	})
}

// TestClaimForStartBoundsWaitersInAll: however many webhooks are
// throttled, their waiters take at most a second window's room: 20
// throttled webhooks of 20 tenants, each start waiting for its rate, never
// hold more than twice a window of 8 started.
func TestClaimForStartBoundsWaitersInAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var tenants []string
		for i := range 20 {
			tenants = append(tenants, fmt.Sprintf("t%02d", i))
		}
		limitOf := throttledWebhooks(t, s, tenants, 10)
		for round := range 30 {
			ds, _, err := s.ClaimForStart(ctx, 100, 8, store.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			for _, d := range ds {
				r := limitOf[d.WebhookID]
				r.DeliveryID, r.Holder = d.ID, d.ID
				if got, err := s.AcquireSlot(ctx, r); err != nil || got.WaitingFor != models.WaitingForRateLimit {
					t.Fatalf("round %d: a start: %+v %v", round, got, err)
				}
			}
		}
		if n, err := s.CountStarting(ctx); err != nil || n != 16 {
			t.Fatalf("started = %d (%v), want twice the window, 16", n, err)
		}
	})
}

// TestClaimClearsAStaleWait: a delivery whose claim was released after it
// had waited for its rate is claimed again as ready, not as a waiter: it
// takes a place of the window.
func TestClaimClearsAStaleWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := tenantWebhook(t, s, "acme", "a1")
		outboxOf(t, s, []*models.Webhook{w}, 1)
		taken := store.SlotRequest{DeliveryID: uuid.NewString(), WebhookID: w.ID, Holder: "taken",
			MaxConcurrency: 10, RateLimit: 1.0 / 3600, Lease: time.Minute}
		if got, err := s.AcquireSlot(ctx, taken); err != nil || !got.Granted {
			t.Fatalf("the first request: %+v %v", got, err)
		}
		ds, _, err := s.ClaimForStart(ctx, 1, 2, store.Now())
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %+v %v", ds, err)
		}
		r := taken
		r.DeliveryID, r.Holder = ds[0].ID, ds[0].ID
		if got, err := s.AcquireSlot(ctx, r); err != nil || got.WaitingFor != models.WaitingForRateLimit {
			t.Fatalf("its start: %+v %v", got, err)
		}
		if err := s.ReleaseClaims(ctx, []string{ds[0].ID}); err != nil {
			t.Fatal(err)
		}
		again, _, err := s.ClaimForStart(ctx, 1, 2, store.Now())
		if err != nil || len(again) != 1 || again[0].WaitingFor != "" {
			t.Fatalf("claimed again: %+v %v, want waiting for nothing", again, err)
		}
		// Ready, it holds its webhook's share of a window of 2 (1): another
		// delivery of the webhook gets no place.
		outboxOf(t, s, []*models.Webhook{w}, 1)
		if more, _, err := s.ClaimForStart(ctx, 1, 2, store.Now()); err != nil || len(more) != 0 {
			t.Fatalf("a second delivery claimed beside a ready one: %+v %v", more, err)
		}
	})
}

// TestClaimForStartWithinAShrunkWindowKeepsRoomBesideWaiters: the waiters
// a whole window let in still leave a shrunk one (the starter's adaptive
// window) its room for ready starts: a tenant that shows up gets its share
// of the shrunk window, although the waiters outnumber it.
func TestClaimForStartWithinAShrunkWindowKeepsRoomBesideWaiters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		limitOf := throttledWebhooks(t, s, []string{"t1", "t2", "t3"}, 30)
		// At a window of 32 each holds its share, 8, then 8 more as
		// waiters: 48 waiters in all.
		for round := range 5 {
			ds, _, err := s.ClaimForStart(ctx, 100, 32, store.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				r := limitOf[d.WebhookID]
				r.DeliveryID, r.Holder = d.ID, d.ID
				if got, err := s.AcquireSlot(ctx, r); err != nil || got.WaitingFor != models.WaitingForRateLimit {
					t.Fatalf("round %d: a start: %+v %v", round, got, err)
				}
			}
		}
		if n, err := s.CountStarting(ctx); err != nil || n != 48 {
			t.Fatalf("started = %d (%v), want 48", n, err)
		}
		// Their waiters' bound holds them back, not the window.
		if ds, full, held, err := s.ClaimForStartWithin(ctx, 100, 32, 32, store.Now()); err != nil || len(ds) != 0 || !full || held {
			t.Fatalf("at their waiters' bound: %d claimed, full=%v, held=%v, %v; want 0, full, not held", len(ds), full, held, err)
		}
		// The window shrinks to 8: another tenant gets its share of 8 (8 ÷ 5).
		b1 := tenantWebhook(t, s, "beta", "b1")
		outboxOf(t, s, []*models.Webhook{b1}, 5)
		ds, full, held, err := s.ClaimForStartWithin(ctx, 100, 32, 8, store.Now())
		if err != nil || full || !held || len(ds) != 1 || ds[0].WebhookID != b1.ID {
			t.Fatalf("a shrunk window beside 48 waiters: %d claimed, full=%v, held=%v, %v; want 1 of b1, held by its share", len(ds), full, held, err)
		}
	})
}

// TestClaimForStartWithinHeld: held reports the ready window holding
// starts back while deliveries wait, and not a full window with nothing
// waiting.
func TestClaimForStartWithinHeld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := tenantWebhook(t, s, "a", "a1"), tenantWebhook(t, s, "b", "b1")
		outboxOf(t, s, []*models.Webhook{a, b}, 1)
		claim := func(what string, wantN int, wantFull, wantHeld bool) {
			t.Helper()
			ds, full, held, err := s.ClaimForStartWithin(ctx, 10, 10, 2, store.Now())
			if err != nil || len(ds) != wantN || full != wantFull || held != wantHeld {
				t.Fatalf("%s: %d claimed, full=%v, held=%v, %v; want %d, full=%v, held=%v", what, len(ds), full, held, err, wantN, wantFull, wantHeld)
			}
		}
		// One each fills the window of 2, and nothing more waits.
		claim("the first claim", 2, false, false)
		// Full, and nothing waits.
		claim("nothing waiting", 0, true, false)
		outboxOf(t, s, []*models.Webhook{tenantWebhook(t, s, "a", "a2")}, 1)
		claim("one waiting", 0, true, true)
	})
}
