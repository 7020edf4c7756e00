// Package activities holds the Temporal activities of webhookd: the side of a
// delivery that talks to the database and to the receiver.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// deliveryLoader is what Sender needs from the store.
type deliveryLoader interface {
	LoadDelivery(ctx context.Context, id string) (*store.DeliveryContext, error)
	MarkDelivering(ctx context.Context, id string) error
	slotKeeper
}

// slotKeeper holds the per-webhook limits (the README's "Per-webhook
// limits") in the database, so that they hold across every process.
type slotKeeper interface {
	AcquireSlot(ctx context.Context, r store.SlotRequest) (store.Slot, error)
	ReleaseSlot(ctx context.Context, webhookID, holder string, rateLimit float64, fb store.Feedback) (wake string, err error)
	KeepWaiting(ctx context.Context, deliveryID, webhookID, holder string, poll time.Duration) error
}

// waiterWaker wakes, in the background, a delivery's workflow waiting for
// a concurrency slot, to ask again now (workflows.LimitsChangedSignal).
type waiterWaker interface {
	WakeWaiter(ctx context.Context, deliveryID string)
}

// leaseMargin is added to a webhook's timeout for its slot's lease: a
// worker killed mid-request frees the slot once the lease runs out.
const leaseMargin = 30 * time.Second

// Sender makes one attempt of a delivery: it loads the delivery, checks its
// webhook still wants it, and has internal/deliver build, sign and post the
// request (docs/receiving.md, "The outbound request"). It never retries: the
// workflow owns the schedule.
type Sender struct {
	Store deliveryLoader
	// Poster builds, signs and posts the request (the same one the API's
	// test of an unsaved webhook uses).
	Poster *deliver.Poster
	// Metrics, when set, counts attempts and times them.
	Metrics *telemetry.Delivery
	// Log, when set, hears of slots that could not be released.
	Log *slog.Logger
	// Tracer records each attempt in the delivery's trace; the zero
	// Tracer is tracing off.
	Tracer tracing.Tracer
	// Shares, when set, caps each tenant's requests in flight from this
	// worker to its share of the worker's slots.
	Shares *TenantShares
	// Waker, when set, wakes the concurrency waiter that a request's end
	// lets in (store.ReleaseSlot), and the deliveries this worker turned
	// away once the gate or share that did has room (turnedAway); without
	// it waiters find free slots by polling.
	Waker waiterWaker

	gates webhookGates
	away  turnedAway
}

// Send is registered as the SendWebhookRequest activity.
func (s *Sender) Send(ctx context.Context, in workflows.SendInput) (attempt.Result, error) {
	dc, err := s.Store.LoadDelivery(ctx, in.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		// The webhook was hard-deleted and its deliveries with it.
		return attempt.Result{Outcome: attempt.Cancelled}, nil
	}
	if err != nil {
		return attempt.Result{}, fmt.Errorf("load delivery: %w", err)
	}
	wh := dc.Webhook
	// A test may probe a disabled or paused webhook; real deliveries stop
	// once their webhook is disabled or deleted, and wait while it is
	// paused.
	if wh.Deleted || (!wh.Enabled && in.Trigger != models.TriggerTest) {
		return attempt.Result{Outcome: attempt.Cancelled}, nil
	}
	probe := wh.Paused && isProbe(&wh, in.DeliveryID)
	if wh.Paused && in.Trigger != models.TriggerTest && !probe {
		return attempt.Result{Outcome: attempt.Held}, nil
	}
	// A test send measures the receiver now: it bypasses the limits.
	if in.Trigger == models.TriggerTest {
		if err := s.Store.MarkDelivering(ctx, in.DeliveryID); err != nil {
			return attempt.Result{}, fmt.Errorf("mark delivering: %w", err)
		}
		return s.post(ctx, dc, in), nil
	}
	// The tenant's share of this worker's slots first, so that a refused
	// send holds no webhook slot.
	holder := slotHolder(in)
	tenant := shareKey(dc.Delivery.TenantID)
	release, ok := s.Shares.take(dc.Delivery.TenantID)
	if !ok {
		s.turnAway(tenant, in.DeliveryID)
		s.away.forget(gateKey(wh.ID), in.DeliveryID) // one line at a time
		return s.refused(ctx, dc, holder), nil
	}
	s.away.forget(tenant, in.DeliveryID)
	var sent bool
	defer func() {
		release()
		if sent {
			// Its share has room again. Only after a request: a send
			// refused later on (the gate, the limiter) held the share
			// for a moment, and waking one turned away for it could
			// start a chain of refusals, each a signal and a workflow
			// task.
			s.wakeTurnedAway(ctx, tenant)
		}
	}()
	queue := store.EffectiveMaxConcurrency(wh.MaxConcurrency)
	if wh.RateLimit > 0 {
		queue = -1 // its reserved slots come at set times: never refused here
	}
	slot, gated, err := s.acquire(ctx, store.SlotRequest{
		DeliveryID: in.DeliveryID, WebhookID: wh.ID, Holder: holder,
		MaxConcurrency: wh.MaxConcurrency, RateLimit: wh.RateLimit,
		Lease: time.Duration(wh.TimeoutSeconds)*time.Second + leaseMargin,
	}, queue)
	if err != nil {
		return attempt.Result{}, fmt.Errorf("acquire a slot: %w", err)
	}
	if gated {
		// maxConcurrency of this worker's requests for the webhook are
		// already asking: it is busy, ask again after a wait, or when
		// one of them leaves the gate.
		s.turnAway(gateKey(wh.ID), in.DeliveryID)
		return s.refused(ctx, dc, holder), nil
	}
	if !slot.Granted {
		s.Metrics.ObserveLimited(string(slot.WaitingFor))
		return attempt.Result{Outcome: attempt.Limited, WaitingFor: slot.WaitingFor, Wait: slot.Wait}, nil
	}
	sent = true
	res := s.postInSlot(ctx, dc, in, holder)
	if probe && res.Outcome == attempt.Failure {
		// A failed probe waits, held, with the webhook's other deliveries;
		// the store schedules the next probe (README "Circuit breaker").
		res.Outcome = attempt.Held
	}
	return res, nil
}

// refused is the result of a send refused before it asks the limiter (its
// tenant's share, the webhook's gate): it waits for a concurrency slot,
// polling with the workflow's backoff (Wait 0). The delivery shows that
// it waits, and a waiter already in the webhook's line keeps its place
// there meanwhile.
func (s *Sender) refused(ctx context.Context, dc *store.DeliveryContext, holder string) attempt.Result {
	s.Metrics.ObserveLimited(string(models.WaitingForConcurrency))
	show := dc.Delivery.ID
	if dc.Delivery.WaitingFor == models.WaitingForConcurrency {
		show = "" // it shows the wait already: no write
	}
	// The writes outlive a cancelled attempt, but not by long.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepWaitingTimeout)
	defer cancel()
	if err := s.Store.KeepWaiting(ctx, show, dc.Webhook.ID, holder, refusedPoll); err != nil && s.Log != nil {
		// The place may lapse, or the wait not show: the waiter still
		// waits, and asks again.
		s.Log.WarnContext(ctx, "keep a concurrency waiter's place", "webhook", dc.Webhook.ID, "err", err)
	}
	return attempt.Result{Outcome: attempt.Limited, WaitingFor: models.WaitingForConcurrency}
}

// keepWaitingTimeout bounds a refusal's writes, which outlive a cancelled
// attempt: a write that lands after the delivery's next attempt was
// granted marks nothing (KeepWaiting marks only a delivery still pending
// or awaiting a retry), and a stuck one is given up well within the
// attempt's 90 s start-to-close timeout.
const keepWaitingTimeout = 5 * time.Second

// refusedPoll is the longest a workflow waits to ask again after a
// refusal without a wait (4 s, spread by up to half: workflows.slotPoll).
const refusedPoll = 6 * time.Second

// Rate slots that come soon are waited for inside the attempt: the
// workflow's timer wakes a workflow task and then this local activity,
// which lags by tens to hundreds of milliseconds on a busy worker, so
// requests woken that way leave late (the rate falls short of the limit)
// and unevenly (bunched at the receiver). A wait of up to inlineWindow —
// at most inlineIntervals of the webhook's spacing, so that one webhook
// keeps only a few attempts asleep — is slept here, to the reserved
// start; a longer one is handed to the workflow shortened by that window,
// so that its timer wakes early and the rest is slept here too.
const (
	inlineWindow    = time.Second
	inlineIntervals = 10
)

// acquire takes the attempt's slot (store.AcquireSlot), waiting here for
// a rate slot that comes within the inline window. Each ask goes through
// the webhook's gate (queue bounds the requests waiting for it), which is
// held only while the database answers, never while asleep: a request
// whose reserved slot comes sooner must not wait behind a sleeper. gated
// reports a request the gate refused (it asked nothing).
func (s *Sender) acquire(ctx context.Context, r store.SlotRequest, queue int) (slot store.Slot, gated bool, err error) {
	var deadline time.Time
	for {
		exit, ok := s.gates.enter(ctx, r.WebhookID, queue)
		if !ok {
			if err := ctx.Err(); err != nil {
				return store.Slot{}, false, err
			}
			return store.Slot{}, true, nil
		}
		s.away.forget(gateKey(r.WebhookID), r.DeliveryID)
		slot, err := s.Store.AcquireSlot(ctx, r)
		if exit() {
			s.wakeTurnedAway(ctx, gateKey(r.WebhookID)) // the gate has room again
		}
		if err != nil || slot.Granted || slot.WaitingFor != models.WaitingForRateLimit {
			return slot, false, err
		}
		window := min(inlineWindow, inlineIntervals*slot.Interval)
		if deadline.IsZero() {
			deadline = time.Now().Add(2 * window)
		}
		switch {
		case slot.Wait > window:
			slot.Wait -= window
			return slot, false, nil
		case time.Now().Add(slot.Wait).After(deadline):
			return slot, false, nil // refused again and again: the workflow waits
		}
		t := time.NewTimer(slot.Wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return store.Slot{}, false, ctx.Err()
		case <-t.C:
		}
	}
}

// slotHolder names an attempt's request to the limiter: the delivery, the
// attempt and the run that makes it. The attempt number alone is not
// enough: a run started again (the reconciler, a replay ending an open
// run) numbers on from the attempts recorded, so it may reuse the number
// of an attempt whose worker was killed mid-request, whose lease is still
// live. The run is the workflow's first run, the same across
// continue-as-new, so a delivery that waited on in a new run keeps its
// place and its reserved rate slot.
func slotHolder(in workflows.SendInput) string {
	if in.Run == "" {
		return fmt.Sprintf("%s/%d", in.DeliveryID, in.Attempt)
	}
	return fmt.Sprintf("%s/%d/%s", in.DeliveryID, in.Attempt, in.Run)
}

// releaseTimeout bounds a slot's release, which outlives a cancelled
// attempt: one that cannot finish leaves the lease to expire.
const releaseTimeout = 10 * time.Second

// postInSlot posts with the slot held and releases it however the post
// ends, a panic included (the lease would otherwise keep the slot for the
// webhook's timeout and a margin). The request was sent: whatever happens
// to the release, the attempt stands (an error here would make Temporal
// send it again); a release that fails leaves the lease to expire.
func (s *Sender) postInSlot(ctx context.Context, dc *store.DeliveryContext, in workflows.SendInput, holder string) (res attempt.Result) {
	wh := dc.Webhook
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		wake, err := s.Store.ReleaseSlot(rctx, wh.ID, holder, wh.RateLimit, feedback(res))
		switch {
		case errors.Is(err, store.ErrWakeLost):
			s.Metrics.ObserveWakeUp(telemetry.WakeUpLost)
			if s.Log != nil {
				s.Log.WarnContext(ctx, "pick the concurrency waiter to wake; it asks at its next poll", "webhook", wh.ID, "err", err)
			}
		case err != nil && s.Log != nil:
			s.Log.WarnContext(ctx, "release a webhook slot", "webhook", wh.ID, "err", err)
		}
		if wake != "" && s.Waker != nil {
			s.Waker.WakeWaiter(ctx, store.HolderDelivery(wake))
		}
	}()
	return s.post(ctx, dc, in)
}

// turnAway remembers that key refused deliveryID, to wake it when key has
// room (nothing to remember without a Waker).
func (s *Sender) turnAway(key turnedAwayKey, deliveryID string) {
	if s.Waker != nil {
		s.away.add(key, deliveryID, time.Now())
	}
}

// wakeTurnedAway wakes the oldest delivery that key turned away, if any
// may still be waiting for it (turnedAway).
func (s *Sender) wakeTurnedAway(ctx context.Context, key turnedAwayKey) {
	if s.Waker == nil {
		return
	}
	if id, ok := s.away.next(key, time.Now()); ok {
		s.Waker.WakeWaiter(ctx, id)
	}
}

// feedback is what an attempt's answer tells the webhook's adaptive rate.
func feedback(res attempt.Result) store.Feedback {
	switch {
	case res.Outcome == attempt.Success:
		return store.Success
	case res.Attempt != nil && attempt.IsThrottling(res.Attempt.StatusCode):
		return store.Throttled
	}
	return store.Neutral
}

// post builds, signs and posts the request of one attempt.
func (s *Sender) post(ctx context.Context, dc *store.DeliveryContext, in workflows.SendInput) attempt.Result {
	wh := dc.Webhook
	r := deliver.Request{Webhook: &wh, Attempt: in.Attempt, Trigger: in.Trigger, TenantID: dc.Delivery.TenantID}
	if dc.Batch != nil {
		r.Batch, r.BatchID, r.BatchOpened = dc.Batch, dc.Delivery.ID, dc.Delivery.CreatedAt
	} else {
		r.Event = &dc.Event
	}
	res := tracedPost(ctx, s.Tracer, dc, in, func(ctx context.Context) attempt.Result { return s.Poster.Post(ctx, r) })
	s.observe(dc, res)
	return res
}

// isProbe reports whether the delivery is the probe of w's open circuit
// breaker: the one delivery sent while it is auto-paused.
func isProbe(w *models.Webhook, deliveryID string) bool {
	return w.AutoPausedReason != "" && w.ProbeDeliveryID != nil && *w.ProbeDeliveryID == deliveryID
}

// observe feeds the delivery metrics with one attempt (test sends excluded:
// they measure the receiver, not the service).
func (s *Sender) observe(dc *store.DeliveryContext, res attempt.Result) {
	a := res.Attempt
	if a == nil || a.Trigger == models.TriggerTest {
		return
	}
	s.Metrics.ObserveAttempt(string(res.Outcome), a.StatusCode, a.FinishedAt.Sub(a.StartedAt))
	if res.Outcome != attempt.Success {
		return
	}
	if dc.Batch == nil {
		s.Metrics.ObserveSuccess(dc.Event.CreatedAt, a.FinishedAt)
		return
	}
	for _, ev := range dc.Batch {
		s.Metrics.ObserveSuccess(ev.CreatedAt, a.FinishedAt)
	}
}
