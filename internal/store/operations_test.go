package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// record stores one attempt of a fresh delivery of w with the given outcome.
func record(t *testing.T, s *store.Store, w *models.Webhook, eventType string, status int, took time.Duration,
	ds models.DeliveryStatus, ws models.WebhookStatus, at time.Time) {
	t.Helper()
	ctx := context.Background()
	ev := newEvent("evt-"+at.Format("150405.000000")+eventType, at)
	ev.Type, ev.TenantID = eventType, w.TenantID
	d := newDelivery(ev, w.ID, models.DeliveryDelivering, at)
	if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	a := &models.Attempt{DeliveryID: d.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
		DurationMs: took.Milliseconds(), StartedAt: at.Add(-took), FinishedAt: at}
	if status != 0 {
		a.ResponseStatus = &status
	}
	r := store.AttemptResult{DeliveryID: d.ID, WebhookID: w.ID, Attempt: a, DeliveryStatus: ds, WebhookStatus: ws}
	for range 2 { // a retried record counts once
		copied := *a
		r.Attempt = &copied
		if err := s.RecordAttempt(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStatsCountEachAttemptOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("stats")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		for i := range 8 {
			record(t, s, w, "order.created", 200, 40*time.Millisecond, models.DeliverySucceeded, models.WebhookActive, now.Add(-time.Duration(i)*time.Minute))
		}
		record(t, s, w, "order.created", 500, 800*time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, now.Add(-time.Second))
		record(t, s, w, "order.created", 0, 5*time.Second, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, now.Add(-2*time.Hour))
		st, err := s.StatsSince(ctx, w.ID, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.Attempts != 9 || st.Successes != 8 {
			t.Fatalf("last hour: %+v", st)
		}
		// 40 ms lands in the (25, 50] bucket, 800 ms in (500, 1000].
		if st.Histogram[2] != 8 || st.Histogram[6] != 1 || st.DurationMsSum != 8*40+800 {
			t.Fatalf("histogram %v sum %d", st.Histogram, st.DurationMsSum)
		}
		if st.LastSuccessAt == nil || !st.LastSuccessAt.Equal(now) || st.LastFailureAt == nil || !st.LastFailureAt.Equal(now.Add(-time.Second)) {
			t.Fatalf("last success %v, last failure %v", st.LastSuccessAt, st.LastFailureAt)
		}
		day, _ := s.StatsSince(ctx, w.ID, now.Add(-24*time.Hour))
		if day.Attempts != 10 || day.Successes != 8 || day.Histogram[8] != 1 { // 5 s is in (2.5 s, 5 s]
			t.Fatalf("last day: %+v", day)
		}
		if n, err := s.PurgeStatsBefore(ctx, now.Add(time.Hour)); err != nil || n == 0 {
			t.Fatalf("purge stats: %d %v", n, err)
		}
	})
}

func TestHealthChangesWriteOperationalEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("watched")
		w.TenantID = "acme"
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		steps := []struct {
			status int
			ds     models.DeliveryStatus
			ws     models.WebhookStatus
			want   string
		}{
			{200, models.DeliverySucceeded, models.WebhookActive, ""}, // healthy stays healthy
			{500, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, store.EventWebhookFailing},
			{500, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, ""}, // still failing
			{500, models.DeliveryFailed, models.WebhookRetryLimitReached, store.EventWebhookRetryLimitReached},
			{200, models.DeliverySucceeded, models.WebhookActive, store.EventWebhookRecovered},
			{410, models.DeliveryFailed, models.WebhookDisabled, store.EventWebhookDisabled},
		}
		var want []string
		for i, st := range steps {
			record(t, s, w, "order.created", st.status, 10*time.Millisecond, st.ds, st.ws, now.Add(time.Duration(i)*time.Second))
			if st.want != "" {
				want = append(want, st.want)
			}
		}
		evs, err := s.PendingFanout(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != len(want) {
			t.Fatalf("operational events %d, want %v", len(evs), want)
		}
		for i, ev := range evs {
			var data struct {
				WebhookID, WebhookName, Status string
				FailureDetails                 map[string]any
			}
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			if ev.Type != want[i] || ev.TenantID != "acme" || ev.SourceWebhookID == nil || *ev.SourceWebhookID != w.ID ||
				data.WebhookID != w.ID || data.WebhookName != "watched" {
				t.Fatalf("event %d = %+v %s, want %s", i, ev, ev.Data, want[i])
			}
		}
		var failing struct {
			Status         string
			FailureDetails map[string]any
		}
		_ = json.Unmarshal(evs[0].Data, &failing)
		if failing.Status != "awaitingRetry" || failing.FailureDetails["lastFailedStatusCode"] != float64(500) ||
			failing.FailureDetails["lastFailedReason"] != "endpoint answered HTTP 500" {
			t.Fatalf("failing event data = %s", evs[0].Data)
		}

		// A webhook failing to deliver an operational event raises none.
		alert := newWebhook("alerts")
		alert.TenantID = "acme"
		if err := s.CreateWebhook(ctx, alert); err != nil {
			t.Fatal(err)
		}
		record(t, s, alert, store.EventWebhookFailing, 500, 10*time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, now.Add(time.Minute))
		if evs, _ := s.PendingFanout(ctx, 100); len(evs) != len(want) {
			t.Fatalf("the failed delivery of an operational event raised another (%d events)", len(evs))
		}
		if got, _ := s.GetWebhook(ctx, alert.ID); got.Status != models.WebhookAwaitingRetry {
			t.Fatalf("its health must still be recorded: %s", got.Status)
		}
	})
}

func TestPauseHoldsAndResumeReleases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("paused")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.SetPaused(ctx, w.ID, true, "ops")
		if err != nil || !got.Paused || got.PausedAt == nil || got.Version <= w.Version {
			t.Fatalf("pause: %+v %v", got, err)
		}
		now := store.Now()
		for i := range 3 {
			ev := newEvent("held-"+string(rune('a'+i)), now.Add(time.Duration(i)*time.Second))
			d := newDelivery(ev, w.ID, models.DeliveryHeld, ev.CreatedAt)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
		}
		// Retention keeps held deliveries whatever their age.
		if r, err := s.PurgeBefore(ctx, now.Add(time.Hour)); err != nil || r.Deliveries != 0 {
			t.Fatalf("retention removed held deliveries: %+v %v", r, err)
		}
		if n, _ := s.CountUndispatched(ctx); n != 0 {
			t.Fatalf("held deliveries in the outbox: %d", n)
		}
		got, released, err := s.SetPaused(ctx, w.ID, false, "ops")
		if err != nil || got.Paused || released != 3 {
			t.Fatalf("resume: %+v released %d %v", got, released, err)
		}
		claimed, _, err := s.ClaimForStart(ctx, 10, 1000, store.Now())
		if err != nil || len(claimed) != 3 || claimed[0].EventID != "held-a" || claimed[2].EventID != "held-c" {
			t.Fatalf("released deliveries, oldest first: %v %v", claimed, err)
		}
		// Resuming a running webhook releases nothing.
		if _, released, err := s.SetPaused(ctx, w.ID, false, "ops"); err != nil || released != 0 {
			t.Fatalf("second resume: %d %v", released, err)
		}

		// A workflow that saw the webhook paused records "held" after the
		// resume: the delivery goes back to the outbox instead.
		late := newEvent("held-late", store.Now())
		ld := newDelivery(late, w.ID, models.DeliveryDelivering, late.CreatedAt)
		if _, _, _, err := s.IngestEvent(ctx, late, []models.Delivery{ld}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: ld.ID, WebhookID: w.ID, DeliveryStatus: models.DeliveryHeld}); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.GetDelivery(ctx, ld.ID); d.Status != models.DeliveryPending {
			t.Fatalf("held recorded on a running webhook: %s", d.Status)
		}
		if n, _ := s.CountUndispatched(ctx); n != 1 {
			t.Fatalf("the late delivery is not in the outbox: %d", n)
		}

		// A delivery held from a stale view (ingest racing a resume) is
		// released by the reconciler's sweep; a paused webhook's are not.
		other := newWebhook("still-paused")
		if err := s.CreateWebhook(ctx, other); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SetPaused(ctx, other.ID, true, "ops"); err != nil {
			t.Fatal(err)
		}
		for _, hook := range []string{w.ID, other.ID} {
			ev := newEvent("stale-"+hook, store.Now())
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{newDelivery(ev, hook, models.DeliveryHeld, ev.CreatedAt)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.ReleaseHeld(ctx, store.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("ReleaseHeld released %d (%v), want only the running webhook's 1", n, err)
		}
	})
}

// TestConcurrentRotationsNeverLoseASecret: a rotation based on a version
// that has changed since (another rotation won) writes nothing.
func TestConcurrentRotationsNeverLoseASecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("rotating")
		w.SecretKey = "secret-a"
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		read, _ := s.GetWebhook(ctx, w.ID)
		won, _, err := s.RotateSecret(ctx, read, "secret-b", time.Hour, "one")
		if err != nil || won.SecretKey != "secret-b" {
			t.Fatalf("first rotation: %+v %v", won, err)
		}
		if _, _, err := s.RotateSecret(ctx, read, "secret-c", time.Hour, "two"); !errors.Is(err, store.ErrStale) {
			t.Fatalf("second rotation from the same read: %v, want ErrStale", err)
		}
		if got, _ := s.GetWebhook(ctx, w.ID); got.SecretKey != "secret-b" || len(got.PreviousSecrets) != 1 || got.PreviousSecrets[0].Key != "secret-a" {
			t.Fatalf("after the refused rotation: %q, previous %+v", got.SecretKey, got.PreviousSecrets)
		}
	})
}
