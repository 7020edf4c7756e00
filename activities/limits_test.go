package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestSendHonoursMaxConcurrency: with the webhook's one slot held (by
// another process, say), an attempt sends nothing and says what it waits
// for; a test send bypasses the limits; once the slot is free the attempt
// is sent and its slot released.
func TestSendHonoursMaxConcurrency(t *testing.T) {
	var posts atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
	ctx := t.Context()
	other := store.SlotRequest{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID, Holder: "elsewhere", MaxConcurrency: 1, Lease: 60e9}
	if got, err := f.store.AcquireSlot(ctx, other); err != nil || !got.Granted {
		t.Fatalf("%+v %v", got, err)
	}
	res := f.send(t, 1)
	if res.Outcome != attempt.Limited || res.WaitingFor != models.WaitingForConcurrency || res.Attempt != nil || posts.Load() != 0 {
		t.Fatalf("with the slot held: %+v, %d posts", res, posts.Load())
	}
	if d, _ := f.store.GetDelivery(ctx, f.delivery.ID); d.WaitingFor != models.WaitingForConcurrency {
		t.Fatalf("delivery waitingFor = %q", d.WaitingFor)
	}
	test, err := f.sender.Send(ctx, workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 1, Trigger: models.TriggerTest})
	if err != nil || test.Outcome != attempt.Success || posts.Load() != 1 {
		t.Fatalf("a test send: %+v %v", test, err)
	}
	if _, err := f.store.ReleaseSlot(ctx, f.webhook.ID, "elsewhere", 0, store.Neutral); err != nil {
		t.Fatal(err)
	}
	if res := f.send(t, 1); res.Outcome != attempt.Success || posts.Load() != 2 {
		t.Fatalf("with the slot free: %+v", res)
	}
	st, err := f.store.WebhookLimiter(ctx, f.webhook.ID)
	if err != nil || st.InFlight != 0 {
		t.Fatalf("slot not released: %+v %v", st, err)
	}
	if d, _ := f.store.GetDelivery(ctx, f.delivery.ID); d.WaitingFor != "" {
		t.Fatalf("waitingFor not cleared: %q", d.WaitingFor)
	}
}

// TestSendThrottledAnswerLowersTheRate: a 429 halves the webhook's rate.
func TestSendThrottledAnswerLowersTheRate(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.RateLimit = 10 })
	if res := f.send(t, 1); res.Attempt == nil || res.Attempt.StatusCode != 429 {
		t.Fatalf("%+v", res)
	}
	st, err := f.store.WebhookLimiter(t.Context(), f.webhook.ID)
	if err != nil || st.AdaptiveRate != 5 || st.Throttled != 1 || st.InFlight != 0 {
		t.Fatalf("after a 429 under rateLimit 10: %+v %v", st, err)
	}
}

// TestSendWaitsForANearRateSlotItself: a rate slot that comes within the
// inline window is slept in the attempt, which is then sent at its slot
// (a workflow timer would wake it late); a farther one is handed to the
// workflow, shortened by the window so that its timer wakes early.
func TestSendWaitsForANearRateSlotItself(t *testing.T) {
	var posts atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	for _, c := range []struct {
		rate float64
		near bool
	}{{2, true}, {0.2, false}} {
		f := newFixture(t, rc.URL, func(w *models.Webhook) { w.RateLimit = c.rate })
		interval := time.Duration(float64(time.Second) / c.rate)
		t0 := time.Now()
		other := store.SlotRequest{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID, Holder: "elsewhere", RateLimit: c.rate, Lease: 60e9}
		if got, err := f.store.AcquireSlot(t.Context(), other); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		before := posts.Load()
		res := f.send(t, 1)
		took := time.Since(t0)
		switch {
		case c.near && (res.Outcome != attempt.Success || took < interval-10*time.Millisecond || posts.Load() != before+1):
			t.Fatalf("rate %v/s, slot %v away: %+v after %v", c.rate, interval, res, took)
		case !c.near && (res.Outcome != attempt.Limited || res.Wait > interval-time.Second || res.Wait < interval-time.Second-2*time.Second || posts.Load() != before):
			t.Fatalf("rate %v/s, slot %v away: %+v after %v, want a wait of about %v", c.rate, interval, res, took, interval-time.Second)
		}
	}
}

// panicky is a transport that panics, as a bug in the post would.
type panicky struct{}

func (panicky) RoundTrip(*http.Request) (*http.Response, error) { panic("a bug in the post") }

// TestSendReleasesTheSlotWhenPostPanics: a panic while the request is
// posted still frees the webhook's slot, rather than leaving the lease to
// run out after the webhook's timeout and a margin.
func TestSendReleasesTheSlotWhenPostPanics(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9/hooks", func(w *models.Webhook) { w.MaxConcurrency = 1 })
	f.sender.Poster.Client = &http.Client{Transport: panicky{}}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the post did not panic")
			}
		}()
		f.sender.Send(t.Context(), workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 1, Trigger: models.TriggerScheduled, Run: "r"})
	}()
	st, err := f.store.WebhookLimiter(t.Context(), f.webhook.ID)
	if err != nil || st.InFlight != 0 {
		t.Fatalf("after a panic in the post: %+v %v (the slot is still held)", st, err)
	}
}

// TestSendRunsStartedAgainDoNotShareASlot: a run started again (the
// reconciler, a replay ending an open run) numbers on from the attempts
// recorded, so it can reuse the number of an attempt whose worker died
// mid-request. While that request's lease is live, the new run's attempt
// of the same number is a new request and waits under maxConcurrency 1.
func TestSendRunsStartedAgainDoNotShareASlot(t *testing.T) {
	var posts atomic.Int32
	inside, release := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if posts.Add(1) == 1 {
			close(inside)
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
	done := make(chan attempt.Result, 1)
	go func() {
		res, _ := f.sender.Send(t.Context(), workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 2, Trigger: models.TriggerScheduled, Run: "first-run"})
		done <- res
	}()
	<-inside
	res, err := f.sender.Send(t.Context(), workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 2, Trigger: models.TriggerScheduled, Run: "second-run"})
	close(release)
	if err != nil || res.Outcome != attempt.Limited || res.WaitingFor != models.WaitingForConcurrency {
		t.Fatalf("attempt 2 of a second run while the first run's attempt 2 is in flight: %+v %v (%d posts)", res, err, posts.Load())
	}
	if first := <-done; first.Outcome != attempt.Success || posts.Load() != 1 {
		t.Fatalf("first run: %+v, %d posts", first, posts.Load())
	}
}

// TestSendRefusedAtTheGateKeepsItsPlace: a queued concurrency waiter that
// this worker refuses before it reaches the limiter (the webhook's gate is
// full, as under a backlog) keeps its place in line: it is still punctual
// (not late, so not overtaken) when the slot frees, and a newcomer does
// not take the slot it is owed.
func TestSendRefusedAtTheGateKeepsItsPlace(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
	ctx := t.Context()
	other := store.SlotRequest{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID, Holder: "elsewhere", MaxConcurrency: 1, Lease: 60e9}
	if got, err := f.store.AcquireSlot(ctx, other); err != nil || !got.Granted {
		t.Fatalf("%+v %v", got, err)
	}
	first := f.send(t, 1) // queued: the oldest waiter
	if first.Outcome != attempt.Limited || first.Wait <= 0 {
		t.Fatalf("with the slot held: %+v", first)
	}
	exit := f.sender.HoldGate(f.webhook.ID, 3)
	// Past its patience and, were its place not kept, more than the late
	// grace (5 s) after the poll the limiter asked for.
	deadline := time.Now().Add(first.Wait + 6*time.Second)
	for time.Now().Before(deadline) {
		res := f.send(t, 1)
		if res.Outcome != attempt.Limited || res.WaitingFor != models.WaitingForConcurrency {
			t.Fatalf("refused at the gate: %+v", res)
		}
		wait := res.Wait
		if wait <= 0 {
			wait = time.Second // what the workflow polls after a refusal without one
		}
		time.Sleep(min(wait, time.Until(deadline)))
	}
	exit()
	if _, err := f.store.ReleaseSlot(ctx, f.webhook.ID, "elsewhere", 0, store.Neutral); err != nil {
		t.Fatal(err)
	}
	newcomer := store.SlotRequest{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID, Holder: "newcomer", MaxConcurrency: 1, Lease: 60e9}
	if got, err := f.store.AcquireSlot(ctx, newcomer); err != nil || got.Granted {
		t.Fatalf("a newcomer took the slot the gate-refused waiter is owed: %+v %v", got, err)
	}
	if res := f.send(t, 1); res.Outcome != attempt.Success {
		t.Fatalf("the oldest waiter, once the gate is free: %+v", res)
	}
}

// TestSendRateSleepDoesNotHoldTheGate: an attempt that sleeps out a near
// rate slot inside the send does not keep the webhook's other requests of
// this worker from the limiter meanwhile: one whose slot comes sooner (it
// asked first, its workflow timer woke it later) is sent at its slot, not
// after the sleeper's.
func TestSendRateSleepDoesNotHoldTheGate(t *testing.T) {
	var posts atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.RateLimit = 2 })
	ctx := t.Context()
	ask := func(holder string) store.Slot {
		got, err := f.store.AcquireSlot(ctx, store.SlotRequest{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID,
			Holder: holder, RateLimit: 2, Lease: 60e9})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := ask("now"); !got.Granted {
		t.Fatalf("the first request: %+v", got)
	}
	// Attempt 1 reserves the slot in 0.5 s, attempt 2 the one in 1 s.
	one, two := f.delivery.ID+"/1", f.delivery.ID+"/2"
	if got := ask(one); got.Granted || got.Wait > 600*time.Millisecond {
		t.Fatalf("attempt 1 reserves: %+v", got)
	}
	if got := ask(two); got.Granted || got.Wait < 800*time.Millisecond {
		t.Fatalf("attempt 2 reserves: %+v", got)
	}
	// Attempt 2 asks first (its timer woke early): its slot is within the
	// inline window, so it sleeps in the send.
	done := make(chan time.Time, 2)
	go func() {
		res, err := f.sender.Send(ctx, workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 2, Trigger: models.TriggerScheduled})
		if err != nil || res.Outcome != attempt.Success {
			t.Errorf("attempt 2: %+v %v", res, err)
		}
		done <- time.Now()
	}()
	time.Sleep(200 * time.Millisecond)
	res := f.send(t, 1)
	at := time.Now()
	if res.Outcome != attempt.Success {
		t.Fatalf("attempt 1: %+v", res)
	}
	if second := <-done; !at.Before(second) {
		t.Fatalf("attempt 1 (slot in 0.5 s) was sent at %s, after attempt 2 (slot in 1 s) at %s: it waited for the sleeper's gate",
			at.Format("15:04:05.000"), second.Format("15:04:05.000"))
	}
}

// TestSendNewRunKeepsItsAttemptsRateSlot: an attempt asked for again by a
// new run of its delivery (the run that waited ended held when the
// webhook was paused, and the resume started another) waits for the rate
// slot the ended run reserved, not for one behind it.
func TestSendNewRunKeepsItsAttemptsRateSlot(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	// One request every 2 s: a slot farther than the inline window is
	// handed to the workflow.
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.RateLimit = 0.5 })
	ctx := t.Context()
	if got, err := f.store.AcquireSlot(ctx, store.SlotRequest{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID,
		Holder: "now", RateLimit: 0.5, Lease: 60e9}); err != nil || !got.Granted {
		t.Fatalf("the first request: %+v %v", got, err)
	}
	send := func(run string) attempt.Result {
		t.Helper()
		res, err := f.sender.Send(ctx, workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 1, Trigger: models.TriggerScheduled, Run: run})
		if err != nil || res.Outcome != attempt.Limited || res.WaitingFor != models.WaitingForRateLimit {
			t.Fatalf("run %s: %+v %v", run, res, err)
		}
		return res
	}
	a := send("run-a")
	if b := send("run-b"); b.Wait > a.Wait {
		t.Fatalf("run b waits %s, longer than run a's %s: it reserved a slot behind run a's", b.Wait, a.Wait)
	}
}

// wakeLog is a waiterWaker that remembers whom it woke.
type wakeLog chan string

func (w wakeLog) WakeWaiter(_ context.Context, deliveryID string) { w <- deliveryID }

// TestSendWakesTheWaiterItsSlotLetsIn: a delivery refused the webhook's
// one slot while an attempt holds it is woken, by its delivery id, once
// that attempt's request ends; an attempt that ends with nobody waiting
// wakes nobody.
func TestSendWakesTheWaiterItsSlotLetsIn(t *testing.T) {
	id := uuid.NewString()
	waiter := store.SlotRequest{DeliveryID: id, Holder: id + "/1/run-1", MaxConcurrency: 1, Lease: time.Minute}
	var refused atomic.Bool
	var f *fixture
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if !refused.Load() {
			// The attempt holds the slot: another delivery asks for it.
			got, err := f.store.AcquireSlot(r.Context(), waiter)
			refused.Store(err == nil && !got.Granted && got.WaitingFor == models.WaitingForConcurrency)
		}
		w.WriteHeader(http.StatusOK)
	})
	f = newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
	waiter.WebhookID = f.webhook.ID
	woken := make(wakeLog, 4)
	f.sender.Waker = woken
	if res := f.send(t, 1); res.Outcome != attempt.Success || !refused.Load() {
		t.Fatalf("%+v; waiter refused while the attempt held the slot: %v", res, refused.Load())
	}
	select {
	case id := <-woken:
		if id != waiter.DeliveryID {
			t.Fatalf("woke %q, want the waiter %q", id, waiter.DeliveryID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nobody was woken when the attempt's request ended")
	}
	if got, err := f.store.AcquireSlot(t.Context(), waiter); err != nil || !got.Granted {
		t.Fatalf("the woken waiter asks: %+v %v", got, err)
	}
	if _, err := f.store.ReleaseSlot(t.Context(), f.webhook.ID, waiter.Holder, 0, store.Success); err != nil {
		t.Fatal(err)
	}
	if res := f.send(t, 2); res.Outcome != attempt.Success {
		t.Fatalf("%+v", res)
	}
	select {
	case id := <-woken:
		t.Fatalf("woke %q with nobody waiting", id)
	case <-time.After(500 * time.Millisecond):
	}
}

// releaseFailsStore releases slots as the store does, then returns err:
// store.ErrWakeLost when ReleaseSlot's second query (picking the waiter
// to wake) fails.
type releaseFailsStore struct {
	*store.Store
	err error
}

func (s releaseFailsStore) ReleaseSlot(ctx context.Context, webhookID, holder string, rateLimit float64, fb store.Feedback) (string, error) {
	if _, err := s.Store.ReleaseSlot(ctx, webhookID, holder, rateLimit, fb); err != nil {
		return "", err
	}
	return "", s.err
}

// TestSendCountsALostWakeUp: a waiter that could not be picked for a
// wake-up (it finds the slot at its next poll) shows in
// webhookd_delivery_wakeups_total as lost, and another failure of the
// release does not; the attempt stands either way.
func TestSendCountsALostWakeUp(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, c := range []struct {
		err  error
		lost float64
	}{
		{fmt.Errorf("%w: connection reset", store.ErrWakeLost), 1},
		{errors.New("connection reset"), 0},
	} {
		f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
		reg := prometheus.NewRegistry()
		m, err := telemetry.NewDelivery(reg)
		if err != nil {
			t.Fatal(err)
		}
		f.sender.Store, f.sender.Metrics = releaseFailsStore{f.store, c.err}, m
		if res := f.send(t, 1); res.Outcome != attempt.Success {
			t.Fatalf("%v: %+v", c.err, res)
		}
		if lost := wakeUps(t, reg, telemetry.WakeUpLost); lost != c.lost {
			t.Errorf("release error %v: %s{outcome=%q} = %v, want %v", c.err, telemetry.WakeUpsTotal, telemetry.WakeUpLost, lost, c.lost)
		}
	}
}

// wakeUps reads webhookd_delivery_wakeups_total{outcome} from reg.
func wakeUps(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != telemetry.WakeUpsTotal {
			continue
		}
		for _, m := range mf.GetMetric() {
			if slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "outcome" && l.GetValue() == outcome }) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
