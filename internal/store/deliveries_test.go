package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func newEvent(id string, at time.Time) *models.Event {
	return &models.Event{ID: id, Type: "order.created", Data: json.RawMessage(`{"n":1}`), Timestamp: at, CreatedAt: at}
}

func newDelivery(ev *models.Event, webhookID string, status models.DeliveryStatus, at time.Time) models.Delivery {
	return models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), EventID: ev.ID, WebhookID: webhookID, EventType: ev.Type,
		Status: status, Trigger: models.TriggerScheduled, CreatedAt: at, UpdatedAt: at}
}

func TestIngestIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("w")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		ev := newEvent("evt-1", now)
		first := []models.Delivery{newDelivery(ev, w.ID, models.DeliveryPending, now)}
		_, ds, created, err := s.IngestEvent(ctx, ev, first)
		if err != nil || !created || len(ds) != 1 {
			t.Fatalf("first ingest: %v %v %v", ds, created, err)
		}
		again := newEvent("evt-1", now)
		_, ds2, created, err := s.IngestEvent(ctx, again, []models.Delivery{newDelivery(again, w.ID, models.DeliveryPending, now)})
		if err != nil || created || len(ds2) != 1 || ds2[0].ID != first[0].ID {
			t.Fatalf("repeat ingest must return the first deliveries: %v %v %v", ds2, created, err)
		}
	})
}

func TestRecordAttemptIsIdempotentAndDrivesWebhookHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("health")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		ev := newEvent("evt-h", now)
		d := newDelivery(ev, w.ID, models.DeliveryPending, now)
		if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		code := 503
		next := now.Add(time.Minute)
		failed := store.AttemptResult{
			DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryAwaitingRetry, NextAttemptAt: &next,
			WebhookStatus: models.WebhookAwaitingRetry,
			Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
				ResponseStatus: &code, ResponseBody: "busy", StartedAt: now, FinishedAt: now},
		}
		for range 2 { // an activity retried after a crash records twice
			a := *failed.Attempt
			failed.Attempt = &a
			if err := s.RecordAttempt(ctx, failed); err != nil {
				t.Fatal(err)
			}
		}
		as, _ := s.Attempts(ctx, d.ID)
		got, _ := s.GetDelivery(ctx, d.ID)
		if len(as) != 1 || got.AttemptCount != 1 || got.Status != models.DeliveryAwaitingRetry || *got.LastStatusCode != 503 ||
			!got.NextAttemptAt.Equal(next) {
			t.Fatalf("after recording twice: %d attempts, delivery %+v", len(as), got)
		}
		hook, _ := s.GetWebhook(ctx, w.ID)
		if hook.Status != models.WebhookAwaitingRetry || *hook.LastFailedStatusCode != 503 || !hook.NextAttempt.Equal(next) ||
			hook.LastFailedReason != "endpoint answered HTTP 503" {
			t.Fatalf("webhook after a failure: %+v", hook)
		}

		ok := 200
		if err := s.RecordAttempt(ctx, store.AttemptResult{
			DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: models.DeliverySucceeded, WebhookStatus: models.WebhookActive,
			Attempt: &models.Attempt{DeliveryID: d.ID, Number: 2, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
				ResponseStatus: &ok, StartedAt: now, FinishedAt: now},
		}); err != nil {
			t.Fatal(err)
		}
		hook, _ = s.GetWebhook(ctx, w.ID)
		if hook.Status != models.WebhookActive || hook.NextAttempt != nil || *hook.LastFailedStatusCode != 503 {
			t.Fatalf("webhook after a later success: %+v", hook)
		}

		// 410 disables; a disabled webhook then keeps its state.
		gone := 410
		if err := s.RecordAttempt(ctx, store.AttemptResult{
			DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryFailed, WebhookStatus: models.WebhookDisabled,
			Attempt: &models.Attempt{DeliveryID: d.ID, Number: 3, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
				ResponseStatus: &gone, StartedAt: now, FinishedAt: now},
		}); err != nil {
			t.Fatal(err)
		}
		hook, _ = s.GetWebhook(ctx, w.ID)
		if hook.Status != models.WebhookDisabled || hook.Enabled {
			t.Fatalf("webhook after 410: %+v", hook)
		}
		if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID,
			DeliveryStatus: models.DeliverySucceeded, WebhookStatus: models.WebhookActive}); err != nil {
			t.Fatal(err)
		}
		if hook, _ = s.GetWebhook(ctx, w.ID); hook.Status != models.WebhookDisabled {
			t.Fatalf("a disabled webhook was reactivated by a delivery: %s", hook.Status)
		}
		// After a hard delete, an attempt that was in flight records nothing
		// and does not fail (it would be retried for a day).
		if err := s.HardDeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		late := failed
		late.Attempt = &models.Attempt{DeliveryID: d.ID, Number: 9, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
			StartedAt: now, FinishedAt: now}
		if err := s.RecordAttempt(ctx, late); err != nil {
			t.Fatalf("recording after a hard delete: %v", err)
		}
	})
}

func TestListDeliveriesFiltersAndStablePaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w, other := newWebhook("a"), newWebhook("b")
		for _, x := range []*models.Webhook{w, other} {
			if err := s.CreateWebhook(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		base := store.Now().Add(-time.Hour)
		insert := func(i int, hook string, status models.DeliveryStatus, typ string, at time.Time) {
			ev := newEvent(fmt.Sprintf("evt-%s-%d", hook[:4], i), at)
			ev.Type = typ
			d := newDelivery(ev, hook, status, at)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 30 {
			status := models.DeliverySucceeded
			if i%3 == 0 {
				status = models.DeliveryFailed
			}
			typ := "order.created"
			if i%2 == 0 {
				typ = "order.paid"
			}
			// Pairs share a timestamp so the id breaks ties.
			insert(i, w.ID, status, typ, base.Add(time.Duration(i/2)*time.Second))
			insert(i, other.ID, status, typ, base.Add(time.Duration(i/2)*time.Second))
		}
		page := func(q store.DeliveryQuery) []models.Delivery {
			var all []models.Delivery
			for {
				ds, err := s.ListDeliveries(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, ds...)
				if len(ds) < q.Limit {
					return all
				}
				last := ds[len(ds)-1]
				q.AfterCreated, q.AfterID = last.CreatedAt, last.ID
				// New deliveries arriving while a client pages must not
				// shift or repeat rows.
				insert(1000+len(all), w.ID, models.DeliveryFailed, "order.paid", store.Now())
			}
		}
		got := page(store.DeliveryQuery{WebhookID: w.ID, Limit: 7})
		if len(got) != 30 {
			t.Fatalf("paged %d deliveries, want 30", len(got))
		}
		seen := map[string]bool{}
		for i, d := range got {
			if seen[d.ID] || d.WebhookID != w.ID {
				t.Fatalf("row %d repeated or foreign: %+v", i, d)
			}
			seen[d.ID] = true
			if i > 0 && d.CreatedAt.After(got[i-1].CreatedAt) {
				t.Fatalf("not newest first at %d", i)
			}
		}
		failed, _ := s.ListDeliveries(ctx, store.DeliveryQuery{WebhookID: w.ID, Status: models.DeliveryFailed, EventType: "order.paid",
			Since: base, Until: base.Add(10 * time.Second), Limit: 100})
		// i in 0..19 (created before +10s), i%3==0 and i%2==0: 0, 6, 12, 18.
		if len(failed) != 4 {
			t.Fatalf("filtered = %d rows, want 4", len(failed))
		}
		for _, d := range failed {
			if d.Status != models.DeliveryFailed || d.EventType != "order.paid" {
				t.Fatalf("filter leaked %+v", d)
			}
		}
	})
}

func TestPurgeKeepsYoungAndInProgress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("retention")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		old := now.Add(-8 * 24 * time.Hour)
		mk := func(id string, at time.Time, status models.DeliveryStatus) string {
			ev := newEvent(id, at)
			d := newDelivery(ev, w.ID, status, at)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			code := 200
			if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: status,
				Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: "x",
					ResponseStatus: &code, StartedAt: at, FinishedAt: at}}); err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		oldDone := mk("old-done", old, models.DeliverySucceeded)
		oldFailed := mk("old-failed", old, models.DeliveryFailed)
		oldRetrying := mk("old-retrying", old, models.DeliveryAwaitingRetry)
		young := mk("young", now.Add(-time.Hour), models.DeliverySucceeded)

		res, err := s.PurgeBefore(ctx, now.Add(-7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if res.Events != 2 || res.Deliveries != 2 || res.Attempts != 2 {
			t.Fatalf("purged %+v, want 2 of each", res)
		}
		for id, want := range map[string]bool{oldDone: false, oldFailed: false, oldRetrying: true, young: true} {
			_, err := s.GetDelivery(ctx, id)
			if exists := err == nil; exists != want {
				t.Errorf("delivery %s exists=%v, want %v", id, exists, want)
			}
		}
		if as, _ := s.Attempts(ctx, young); len(as) != 1 {
			t.Fatalf("young attempts touched: %d", len(as))
		}
	})
}

func TestOrphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("orphans")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		mk := func(id string, status models.DeliveryStatus, updated time.Time, next *time.Time, trigger models.Trigger) string {
			ev := newEvent(id, updated)
			d := newDelivery(ev, w.ID, status, updated)
			d.NextAttemptAt, d.Trigger = next, trigger
			if id != "in-outbox" {
				d.DispatchedAt = &updated
			}
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		past, future := now.Add(-time.Hour), now.Add(time.Hour)
		want := map[string]bool{
			mk("pending-old", models.DeliveryPending, now.Add(-time.Minute), nil, models.TriggerScheduled): true,
			mk("pending-new", models.DeliveryPending, now, nil, models.TriggerScheduled):                   false,
			mk("retry-overdue", models.DeliveryAwaitingRetry, past, &past, models.TriggerScheduled):        true,
			mk("retry-due-later", models.DeliveryAwaitingRetry, past, &future, models.TriggerScheduled):    false,
			mk("delivering-stuck", models.DeliveryDelivering, past, nil, models.TriggerReplay):             true,
			mk("delivering-now", models.DeliveryDelivering, now, nil, models.TriggerScheduled):             false,
			mk("test-pending", models.DeliveryPending, now.Add(-time.Minute), nil, models.TriggerTest):     false,
			mk("done", models.DeliverySucceeded, past, nil, models.TriggerScheduled):                       false,
			// Never dispatched: the starter's to start, in order, not the reconciler's.
			mk("in-outbox", models.DeliveryPending, past, nil, models.TriggerScheduled): false,
		}
		got, err := s.Orphans(ctx, now.Add(-30*time.Second), now.Add(-10*time.Minute), 100)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, d := range got {
			found[d.ID] = true
		}
		for id, w := range want {
			if found[id] != w {
				t.Errorf("delivery %s: orphan=%v, want %v", id, found[id], w)
			}
		}
	})
}

// TestRecordAttemptCountsThrottlingWaits: a throttling answer waited out
// without a schedule step is counted on the delivery once, however often
// its record is retried, so that a new run continues the bound.
func TestRecordAttemptCountsThrottlingWaits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("throttled")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		ev := newEvent("evt-t", now)
		d := newDelivery(ev, w.ID, models.DeliveryPending, now)
		if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		code := 429
		for _, n := range []int{1, 1, 2} { // attempt 1 recorded twice (a retried activity)
			if err := s.RecordAttempt(ctx, store.AttemptResult{
				DeliveryID: d.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryAwaitingRetry, WaitingFor: models.WaitingForRetryAfter,
				Attempt: &models.Attempt{DeliveryID: d.ID, Number: n, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
					ResponseStatus: &code, StartedAt: now, FinishedAt: now},
			}); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.GetDelivery(ctx, d.ID); got.ThrottleWaits != 2 || got.AttemptCount != 2 {
			t.Fatalf("throttle waits %d, attempts %d; want 2, 2", got.ThrottleWaits, got.AttemptCount)
		}
	})
}

// TestHealthLockLetsStatisticsIn: while one attempt's transaction holds
// its webhook's health lock (a failure of a healthy webhook), another
// attempt of the webhook that opens a new statistics bucket is recorded.
// RecordAttempt counts statistics last, after the health update: had the
// health lock been FOR UPDATE, the other attempt's new stats row would wait
// for it (its foreign key takes FOR KEY SHARE on the webhook) while the
// first waited for that stats row, and PostgreSQL would abort one as a
// deadlock. SQLite serialises write transactions and is not concerned.
func TestHealthLockLetsStatisticsIn(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w := newWebhook("healthlock")
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	now := store.Now()
	ev := newEvent("evt-h", now)
	failed := newDelivery(ev, w.ID, models.DeliveryDelivering, now)
	if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{failed}); err != nil {
		t.Fatal(err)
	}
	ev2 := newEvent("evt-h2", now)
	ok := newDelivery(ev2, w.ID, models.DeliveryDelivering, now)
	if _, _, _, err := s.IngestEvent(ctx, ev2, []models.Delivery{ok}); err != nil {
		t.Fatal(err)
	}
	code500, code200 := 500, 200
	next := now.Add(time.Minute)
	release, err := s.HoldHealthLock(ctx, store.AttemptResult{
		DeliveryID: failed.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryAwaitingRetry, NextAttemptAt: &next,
		WebhookStatus: models.WebhookAwaitingRetry,
		Attempt: &models.Attempt{DeliveryID: failed.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
			ResponseStatus: &code500, StartedAt: now, FinishedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// A success in a bucket with no statistics row yet.
	later := now.Add(2 * store.StatBucket)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err = s.RecordAttempt(rctx, store.AttemptResult{
		DeliveryID: ok.ID, WebhookID: w.ID, DeliveryStatus: models.DeliverySucceeded, WebhookStatus: models.WebhookActive,
		Attempt: &models.Attempt{DeliveryID: ok.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
			ResponseStatus: &code200, StartedAt: later, FinishedAt: later},
	})
	if err != nil {
		t.Fatalf("an attempt of a webhook whose health another attempt holds: %v (its new statistics row waited for the health lock)", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

// TestCancelWaitingClearsWaitingFor: a delivery cancelled with its
// webhook no longer shows a wait (nor stays in deliveries_waiting), as a
// delivery settled by an attempt does not.
func TestCancelWaitingClearsWaitingFor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		w := newWebhook("cancelled")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		ev := newEvent("evt-c", now)
		d := newDelivery(ev, w.ID, models.DeliveryPending, now)
		if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		// A stale mark on a delivery back in the outbox (a late write).
		if err := s.Exec(ctx, "UPDATE deliveries SET waiting_for = 'concurrency' WHERE id = ?", d.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CancelWaiting(ctx, w.ID); err != nil || n != 1 {
			t.Fatalf("cancelled %d, %v; want 1", n, err)
		}
		got, err := s.GetDelivery(ctx, d.ID)
		if err != nil || got.Status != models.DeliveryCancelled || got.WaitingFor != "" {
			t.Fatalf("%+v %v: want cancelled, waiting for nothing", got, err)
		}
	})
}
