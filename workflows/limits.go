package workflows

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
	"go.temporal.io/sdk/workflow"
)

// Change ids of the per-webhook limits (docs/architecture.md, "Per-webhook limits"):
// histories recorded before them replay unchanged.
const (
	// limitWaitChange: a Limited send result is waited out with a timer.
	// No earlier release's send ever returned Limited, so no history
	// without this marker can reach it (minimum supported version 1).
	limitWaitChange = "limit-wait"
	// throttleChange: a throttling answer (429/502/503/504) waits without
	// using a step of the retry schedule.
	throttleChange = "throttle-not-a-step"
	// limitContinueChange: after limitWaitsPerRun waits for a limit, the
	// run continues as new. Runs recorded before it go on polling in the
	// same run.
	limitContinueChange = "limit-wait-continue-as-new"
	// limitWakeChange: a wait for a limit ends early on
	// LimitsChangedSignal. Runs recorded before it wait out their timer.
	limitWakeChange = "limit-wait-wakes-on-signal"
)

// limitWaitsPerRun bounds a run's history while it waits for a limit: each
// wait costs about six events (a timer, a workflow task, the send's
// marker; eight when a wake-up ends it: the signal and the cancelled
// timer), so a run continues as new after this many, carrying what the
// delivery has used (continued).
const limitWaitsPerRun = 100

// A concurrency waiter, the oldest not woken yet, is woken when a request
// of the webhook ends (LimitsChangedSignal); waiters poll as well, for a
// wake-up that was lost. The limiter says when to ask again (the nearer a
// waiter's turn, the sooner); a send that does not (a worker of an earlier
// release) backs off from half a second to 4 s, spread by up to half again
// so that waiters do not ask all at once.
const (
	firstSlotPoll = 500 * time.Millisecond
	maxSlotPoll   = 4 * time.Second
)

// waitForSlot waits, on a durable timer, for what a Limited result says:
// the delivery's reserved rate slot (exactly its wait; the limiter keeps
// the reservation) or a concurrency slot (a poll).
func (d *delivery) waitForSlot(ctx workflow.Context, number int, sent attempt.Result) error {
	workflow.GetVersion(ctx, limitWaitChange, 1, 1)
	wait := sent.Wait
	if wait <= 0 {
		wait = slotPoll(d.in.DeliveryID, d.limitWaits)
		d.limitWaits++
	}
	d.progress.WaitingFor = sent.WaitingFor
	if err := d.setWaiting(ctx, sent.WaitingFor); err != nil {
		return err
	}
	wakes := workflow.GetVersion(ctx, limitWakeChange, workflow.DefaultVersion, 1) == 1
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{
		Summary: fmt.Sprintf("attempt %d waits for %s", number, sent.WaitingFor),
	})
	var err error
	if wakes {
		err = waitOrWake(ctx, timer)
	} else {
		err = timer.Get(ctx, nil)
	}
	if err != nil {
		return err
	}
	d.runWaits++
	if d.runWaits >= limitWaitsPerRun &&
		workflow.GetVersion(ctx, limitContinueChange, workflow.DefaultVersion, 1) == 1 {
		return workflow.NewContinueAsNewError(ctx, DeliveryWorkflow, d.continued(number))
	}
	return nil
}

// waitOrWake waits for timer, or until a wake-up (LimitsChangedSignal): a
// request of the webhook ended and freed the concurrency slot the waiter
// is next for, or a raised rateLimit brought its reserved slot nearer,
// which a waiter asleep until the slot the old rate gave it would not
// see. A wake-up that came during the send that was refused ends this
// wait at once: the refusal may have been worked out under the old
// limits. Woken, the caller asks again; its timer is cancelled when
// waitForSlot returns.
func waitOrWake(ctx workflow.Context, timer workflow.Future) error {
	var err error
	changed := workflow.GetSignalChannel(ctx, LimitsChangedSignal)
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(f workflow.Future) { err = f.Get(ctx, nil) })
	sel.AddReceive(changed, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		drainWakeUps(ctx) // wake-ups delivered together end one wait
	})
	sel.Select(ctx)
	if err == nil && ctx.Err() != nil {
		// Cancelled in the same workflow task as the wake-up: the
		// cancellation wins, as it would have over a timer that fired.
		return ctx.Err()
	}
	return err
}

// drainWakeUps drops the LimitsChangedSignals that came while the run
// was not waiting for a limit (during the send that got its slot, or a
// retry's timer): the next send reads the webhook afresh, and left in the
// channel they would end its next wait for a limit at once, or be
// reported as unhandled when the run ends. Receiving emits no command:
// histories of any release replay unchanged.
func drainWakeUps(ctx workflow.Context) {
	changed := workflow.GetSignalChannel(ctx, LimitsChangedSignal)
	for changed.ReceiveAsync(nil) {
	}
}

// continued is the input of the run that continues this one, about to
// make attempt number: the same delivery, trigger and schedule, with the
// steps, throttling answers, attempts and waits used so far. The search
// attributes and memo go over to the new run as they are; the trace and
// the sequence are the delivery's, in the database.
func (d *delivery) continued(number int) DeliveryInput {
	next := d.in
	next.FirstAttempt = number
	next.RetriesUsed += d.retries
	next.Throttled += d.throttled
	next.Attempts = d.progress.Attempts
	next.LimitWaits = d.limitWaits
	return next
}

// slotPoll is the n-th wait (0-based) for a concurrency slot, spread by a
// hash of the delivery id (deterministic, as workflow code must be).
func slotPoll(deliveryID string, n int) time.Duration {
	base := min(firstSlotPoll<<min(n, 4), maxSlotPoll)
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", deliveryID, n)
	return base + time.Duration(h.Sum32()%1000)*base/2000
}

// throttleWait is how long to wait after a throttling answer that uses no
// schedule step, or false when the answer takes a step as any failure does
// (not a throttling answer, a test, the run's throttling budget spent, a
// Retry-After beyond attempt.MaxThrottleWait, or a history from before).
func (d *delivery) throttleWait(ctx workflow.Context, sent attempt.Result) (time.Duration, bool) {
	if sent.Attempt == nil || !attempt.IsThrottling(sent.Attempt.StatusCode) || d.in.Trigger == models.TriggerTest {
		return 0, false
	}
	if workflow.GetVersion(ctx, throttleChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return 0, false
	}
	used := d.in.Throttled + d.throttled // over every run of the delivery
	if used >= attempt.MaxThrottled || sent.RetryAfter > attempt.MaxThrottleWait {
		return 0, false
	}
	wait := max(sent.RetryAfter, attempt.ThrottleBackoff(used))
	d.throttled++
	return wait, true
}

// setWaiting keeps the WaitingFor search attribute current; it is written
// only when it changes, and never for a delivery that did not wait.
func (d *delivery) setWaiting(ctx workflow.Context, why models.WaitingFor) error {
	d.progress.WaitingFor = why
	if why == d.waiting {
		return nil
	}
	update := WaitingForAttr.ValueSet(string(why))
	if why == "" {
		update = WaitingForAttr.ValueUnset()
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, update); err != nil {
		return fmt.Errorf("upsert %s: %w", WaitingForAttr.GetName(), err)
	}
	d.waiting = why
	return nil
}
