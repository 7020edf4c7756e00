package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// breakerWebhook stores a webhook whose breaker opens after 3 failed
// attempts spanning at least a minute.
func breakerWebhook(t *testing.T, s *store.Store, name string) *models.Webhook {
	t.Helper()
	w := newWebhook(name)
	w.TenantID, w.BreakerFailures, w.BreakerSpanMs = "acme", 3, time.Minute.Milliseconds()
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// opsEvents returns the types of the operational events written so far, and
// the reason of the last one.
func opsEvents(t *testing.T, s *store.Store) ([]string, string) {
	t.Helper()
	evs, err := s.PendingFanout(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	reason := ""
	for _, ev := range evs {
		kinds = append(kinds, ev.Type)
		var data struct{ Reason string }
		_ = json.Unmarshal(ev.Data, &data)
		reason = data.Reason
	}
	return kinds, reason
}

func mustWebhook(t *testing.T, s *store.Store, id string) *models.Webhook {
	t.Helper()
	w, err := s.GetWebhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// attemptOn records one attempt of delivery d (answered with status) and
// the states the workflow decided.
func attemptOn(t *testing.T, s *store.Store, w *models.Webhook, d string, n, status int, ds models.DeliveryStatus,
	ws models.WebhookStatus, at time.Time) {
	t.Helper()
	a := &models.Attempt{DeliveryID: d, Number: n, Trigger: models.TriggerScheduled, RequestURL: w.Endpoint,
		ResponseStatus: &status, StartedAt: at, FinishedAt: at}
	r := store.AttemptResult{DeliveryID: d, WebhookID: w.ID, Attempt: a, DeliveryStatus: ds, WebhookStatus: ws}
	if err := s.RecordAttempt(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func TestBreakerOpensAfterFailuresSpanningTheMinimumTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := breakerWebhook(t, s, "flaky")
		t0 := store.Now().Add(-time.Hour)
		fail := func(at time.Time) {
			record(t, s, w, "order.created", 503, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, at)
		}
		// Three failures within 20 s: enough of them, not long enough.
		for i := range 3 {
			fail(t0.Add(time.Duration(i) * 10 * time.Second))
		}
		if got := mustWebhook(t, s, w.ID); got.Status != models.WebhookAwaitingRetry || got.Paused || got.FailureStreak != 3 {
			t.Fatalf("after 3 quick failures: status %s paused %v streak %d", got.Status, got.Paused, got.FailureStreak)
		}
		fail(t0.Add(61 * time.Second))
		got := mustWebhook(t, s, w.ID)
		if got.Status != models.WebhookAutoPaused || !got.Paused || got.AutoPausedReason == "" || got.NextProbeAt == nil {
			t.Fatalf("after a failure a minute on: %+v", got)
		}
		// Later failures (attempts that were in flight) leave it paused.
		fail(t0.Add(62 * time.Second))
		if got := mustWebhook(t, s, w.ID); got.Status != models.WebhookAutoPaused || !got.Paused {
			t.Fatalf("a late failure moved it: %s", got.Status)
		}
		kinds, reason := opsEvents(t, s)
		if len(kinds) != 2 || kinds[0] != store.EventWebhookFailing || kinds[1] != store.EventWebhookDisabled || reason != "autoPaused" {
			t.Fatalf("operational events %v (reason %q), want failing then disabled (autoPaused)", kinds, reason)
		}
	})
}

func TestBreakerSuccessResetsTheRunAndOffSwitchHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := breakerWebhook(t, s, "resets")
		off := breakerWebhook(t, s, "off")
		ctx := context.Background()
		off.BreakerOff = true
		if err := s.UpdateWebhook(ctx, off, off.Version, true); err != nil {
			t.Fatal(err)
		}
		t0 := store.Now().Add(-time.Hour)
		for i := range 10 {
			at := t0.Add(time.Duration(i) * time.Minute)
			// (another second: record names events by their time)
			record(t, s, off, "order.created", 500, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, at.Add(time.Second))
			if i == 2 {
				record(t, s, w, "order.created", 200, time.Millisecond, models.DeliverySucceeded, models.WebhookActive, at)
			} else {
				record(t, s, w, "order.created", 500, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, at)
			}
			if i == 3 {
				// 2 failures, a success, 1 failure: the run is 1.
				if got := mustWebhook(t, s, w.ID); got.FailureStreak != 1 || got.Paused {
					t.Fatalf("after a success: streak %d paused %v", got.FailureStreak, got.Paused)
				}
			}
		}
		if got := mustWebhook(t, s, off.ID); got.Paused || got.Status != models.WebhookAwaitingRetry {
			t.Fatalf("breaker off, yet %s (paused %v)", got.Status, got.Paused)
		}
		if got := mustWebhook(t, s, w.ID); !got.Paused || got.Status != models.WebhookAutoPaused {
			t.Fatalf("breaker on: %s (paused %v)", got.Status, got.Paused)
		}
	})
}

// heldDelivery stores an event whose delivery to w is held, created at at.
func heldDelivery(t *testing.T, s *store.Store, w *models.Webhook, id string, at time.Time) string {
	t.Helper()
	ev := newEvent(id, at)
	ev.TenantID = w.TenantID
	d := newDelivery(ev, w.ID, models.DeliveryHeld, at)
	if _, _, _, err := s.IngestEvent(context.Background(), ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func mustDelivery(t *testing.T, s *store.Store, id string) *models.Delivery {
	t.Helper()
	d, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBreakerProbesAtGrowingIntervalsAndClosesOnSuccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := breakerWebhook(t, s, "probed")
		t0 := store.Now().Add(-time.Hour)
		for i := range 3 {
			record(t, s, w, "order.created", 503, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry,
				t0.Add(time.Duration(i)*time.Minute))
		}
		oldest := heldDelivery(t, s, w, "evt-held-1", t0.Add(10*time.Minute))
		newer := heldDelivery(t, s, w, "evt-held-2", t0.Add(11*time.Minute))

		now := store.Now()
		if n, err := s.StartDueProbes(ctx, now); err != nil || n != 0 {
			t.Fatalf("probe before it is due: %d %v", n, err)
		}
		due := now.Add(store.FirstProbeWait + time.Second)
		if n, err := s.StartDueProbes(ctx, due); err != nil || n != 1 {
			t.Fatalf("due probe: %d %v", n, err)
		}
		if n, _ := s.StartDueProbes(ctx, due); n != 0 {
			t.Fatal("a second probe while one is out")
		}
		got := mustWebhook(t, s, w.ID)
		if got.ProbeDeliveryID == nil || *got.ProbeDeliveryID != oldest {
			t.Fatalf("probe %v, want the oldest held delivery %s", got.ProbeDeliveryID, oldest)
		}
		if d := mustDelivery(t, s, oldest); d.Status != models.DeliveryPending || d.DispatchedAt != nil {
			t.Fatalf("probe delivery %s dispatched %v, want back in the outbox", d.Status, d.DispatchedAt)
		}
		if d := mustDelivery(t, s, newer); d.Status != models.DeliveryHeld {
			t.Fatalf("newer delivery %s, want held", d.Status)
		}

		// The probe fails: the send activity answers held, with the attempt.
		attemptOn(t, s, w, oldest, 1, 503, models.DeliveryHeld, "", store.Now())
		got = mustWebhook(t, s, w.ID)
		if got.ProbeDeliveryID != nil || got.NextProbeAt == nil || got.ProbeWaitMs != (4*time.Minute).Milliseconds() {
			t.Fatalf("after a failed probe: probe %v next %v wait %d", got.ProbeDeliveryID, got.NextProbeAt, got.ProbeWaitMs)
		}
		if wait := time.Until(*got.NextProbeAt); wait < time.Minute || wait > 2*time.Minute+time.Second {
			t.Fatalf("next probe in %s, want 2m", wait)
		}
		if d := mustDelivery(t, s, oldest); d.Status != models.DeliveryHeld || d.AttemptCount != 1 {
			t.Fatalf("failed probe's delivery %s with %d attempts, want held with 1", d.Status, d.AttemptCount)
		}

		// The next probe succeeds: the breaker closes, everything held goes
		// back to the outbox, and `recovered` is raised once.
		if n, _ := s.StartDueProbes(ctx, got.NextProbeAt.Add(time.Second)); n != 1 {
			t.Fatal("second probe not started")
		}
		attemptOn(t, s, w, oldest, 2, 200, models.DeliverySucceeded, models.WebhookActive, store.Now())
		got = mustWebhook(t, s, w.ID)
		if got.Paused || got.Status != models.WebhookActive || got.AutoPausedReason != "" || got.FailureStreak != 0 {
			t.Fatalf("after the probe's success: %s paused %v reason %q streak %d", got.Status, got.Paused, got.AutoPausedReason, got.FailureStreak)
		}
		if d := mustDelivery(t, s, newer); d.Status != models.DeliveryPending || d.DispatchedAt != nil {
			t.Fatalf("held delivery %s after the breaker closed, want pending", d.Status)
		}
		kinds, _ := opsEvents(t, s)
		want := []string{store.EventWebhookFailing, store.EventWebhookDisabled, store.EventWebhookRecovered}
		if len(kinds) != len(want) || kinds[1] != want[1] || kinds[2] != want[2] {
			t.Fatalf("operational events %v, want %v", kinds, want)
		}
	})
}

func TestResumingAnAutoPausedWebhookClosesTheBreaker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := breakerWebhook(t, s, "resumed")
		t0 := store.Now().Add(-time.Hour)
		for i := range 3 {
			record(t, s, w, "order.created", 503, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry,
				t0.Add(time.Duration(i)*time.Minute))
		}
		held := heldDelivery(t, s, w, "evt-held", t0.Add(5*time.Minute))
		got, released, err := s.SetPaused(context.Background(), w.ID, false, "api")
		if err != nil || released != 1 {
			t.Fatalf("resume: released %d, %v", released, err)
		}
		if got.Status != models.WebhookActive || got.AutoPausedReason != "" || got.FailureStreak != 0 || got.NextProbeAt != nil {
			t.Fatalf("resumed: %+v", got)
		}
		if d := mustDelivery(t, s, held); d.Status != models.DeliveryPending {
			t.Fatalf("held delivery %s", d.Status)
		}
		kinds, _ := opsEvents(t, s)
		if len(kinds) != 3 || kinds[2] != store.EventWebhookRecovered {
			t.Fatalf("operational events %v, want failing, disabled, recovered", kinds)
		}
	})
}

func TestFlappingReceiverRaisesFewOperationalEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWebhook("flapping")
		w.TenantID, w.BreakerOff = "acme", true
		if err := s.CreateWebhook(context.Background(), w); err != nil {
			t.Fatal(err)
		}
		// A failure and a success every minute for an hour. The store
		// stamps the cooldown with its own clock, so the hour is compressed:
		// every flip falls within one cooldown.
		t0 := store.Now().Add(-time.Hour)
		for i := range 60 {
			at := t0.Add(time.Duration(i) * time.Minute)
			record(t, s, w, "order.created", 500, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, at)
			record(t, s, w, "order.created", 200, time.Millisecond, models.DeliverySucceeded, models.WebhookActive, at.Add(time.Second))
		}
		kinds, _ := opsEvents(t, s)
		if len(kinds) != 2 || kinds[0] != store.EventWebhookFailing || kinds[1] != store.EventWebhookRecovered {
			t.Fatalf("operational events %v, want one failing and one recovered", kinds)
		}
	})
}

// An operator who pauses an auto-paused webhook keeps it paused: no probe
// goes out, and the breaker's `disabled` is answered by `recovered` once
// the operator resumes and the receiver answers.
func TestPausingAnAutoPausedWebhookMakesThePauseManual(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := breakerWebhook(t, s, "taken-over")
		t0 := store.Now().Add(-time.Hour)
		for i := range 3 {
			record(t, s, w, "order.created", 503, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry,
				t0.Add(time.Duration(i)*time.Minute))
		}
		heldDelivery(t, s, w, "evt-held", t0.Add(5*time.Minute))
		got, _, err := s.SetPaused(ctx, w.ID, true, "api")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Paused || got.AutoPausedReason != "" || got.NextProbeAt != nil || got.Status == models.WebhookAutoPaused {
			t.Fatalf("paused by the operator: %+v", got)
		}
		if n, err := s.StartDueProbes(ctx, store.Now().Add(24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("probes started on a manually paused webhook: %d %v", n, err)
		}
		if _, _, err := s.SetPaused(ctx, w.ID, false, "api"); err != nil {
			t.Fatal(err)
		}
		if kinds, _ := opsEvents(t, s); len(kinds) != 2 {
			t.Fatalf("operational events %v before the receiver answered, want failing, disabled", kinds)
		}
		record(t, s, w, "order.created", 200, time.Millisecond, models.DeliverySucceeded, models.WebhookActive, store.Now())
		if kinds, _ := opsEvents(t, s); len(kinds) != 3 || kinds[2] != store.EventWebhookRecovered {
			t.Fatalf("operational events %v, want failing, disabled, recovered", kinds)
		}
	})
}

// TestBreakerOpeningDropsTheRateLine: the attempt that opens the breaker
// drops the webhook's reserved rate slots, since every request waiting for
// one will be held: the probe must not queue behind slots nobody will use,
// and the released deliveries queue again, oldest first. Failures before
// that leave the line as it is.
func TestBreakerOpeningDropsTheRateLine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		w := breakerWebhook(t, s, "flaky")
		for i := range 4 {
			d := uuid.NewString()
			got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: d, WebhookID: w.ID,
				Holder: d + "/1/run", MaxConcurrency: 100, RateLimit: 1, Lease: time.Minute})
			if err != nil || (i > 0 && got.Granted) {
				t.Fatalf("request %d: %+v %v", i, got, err)
			}
		}
		line := func() int64 {
			t.Helper()
			var n int64
			if err := s.Raw(ctx, &n, "SELECT count(*) FROM webhook_reservations WHERE webhook_id = ?", w.ID); err != nil {
				t.Fatal(err)
			}
			return n
		}
		t0 := store.Now().Add(-time.Hour)
		fail := func(at time.Time) {
			record(t, s, w, "order.created", 503, time.Millisecond, models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry, at)
		}
		fail(t0)
		fail(t0.Add(10 * time.Second))
		if n := line(); n != 3 {
			t.Fatalf("%d reserved slots after two failures, want the 3 reserved", n)
		}
		fail(t0.Add(61 * time.Second))
		if got := mustWebhook(t, s, w.ID); got.Status != models.WebhookAutoPaused {
			t.Fatalf("status %s after the third failure, want autoPaused", got.Status)
		}
		if n := line(); n != 0 {
			t.Fatalf("%d reserved slots after the breaker opened, want none", n)
		}
		// A request that loaded the webhook before it paused may still ask
		// and reserve; starting the probe drops that too, and the next
		// request waits one interval at most (1 s at rateLimit 1), not
		// behind the line.
		ask := func() store.Slot {
			t.Helper()
			d := uuid.NewString()
			got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: d, WebhookID: w.ID,
				Holder: d + "/1/run", MaxConcurrency: 100, RateLimit: 1, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		ask()
		ask()
		if n := line(); n == 0 {
			t.Fatal("no slot reserved by the late requests")
		}
		heldDelivery(t, s, w, "evt-held", t0.Add(62*time.Second))
		if n, err := s.StartDueProbes(ctx, store.Now().Add(store.FirstProbeWait+time.Second)); err != nil || n != 1 {
			t.Fatalf("probes started: %d %v, want 1", n, err)
		}
		if n := line(); n != 0 {
			t.Fatalf("%d reserved slots after the probe started, want none", n)
		}
		if got := ask(); !got.Granted && got.Wait > time.Second {
			t.Fatalf("a request after the probe started: %+v, want at most one interval (1 s)", got)
		}
	})
}
