package workflows

import (
	"fmt"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Delivery delivers one event to one webhook: attempt 1 at once, then one
// retry after each wait of the schedule, each wait a durable timer that the
// Web UI shows. Attempts run as local activities so the happy path costs no
// activity-task round trip: start, one workflow task, done.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	d := &delivery{
		in: in, delays: RetrySchedule,
		progress:   Progress{Status: models.DeliveryPending, Attempts: in.Attempts},
		indexed:    models.DeliveryPending, // set by the starter
		limitWaits: in.LimitWaits,
	}
	// A run continued as new inherits the search attributes its
	// predecessor left (a WaitingFor to clear, say); a started one has
	// what its starter set.
	attrs := workflow.GetTypedSearchAttributes(ctx)
	if v, ok := attrs.GetKeyword(DeliveryStatusAttr); ok {
		d.indexed = models.DeliveryStatus(v)
	}
	if v, ok := attrs.GetKeyword(WaitingForAttr); ok {
		d.waiting = models.WaitingFor(v)
	}
	if len(in.RetryDelays) > 0 {
		d.delays = in.RetryDelays
	}
	if in.Trigger == models.TriggerTest {
		d.delays = nil // the test button makes exactly one attempt
	}
	if in.FirstAttempt < 1 {
		d.in.FirstAttempt = 1
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return d.progress, nil }); err != nil {
		return DeliveryResult{}, err
	}
	d.runID = workflow.GetInfo(ctx).WorkflowExecution.RunID
	return d.run(ctx)
}

type delivery struct {
	in       DeliveryInput
	delays   []time.Duration
	runID    string
	progress Progress
	// indexed is the DeliveryStatus search attribute value last written, so
	// that repeated retries do not rewrite visibility for nothing.
	indexed models.DeliveryStatus
	// retries counts the schedule's steps this run used; throttled the
	// throttling answers that used none (attempt.MaxThrottled).
	retries, throttled int
	// limitWaits counts consecutive waits for a concurrency slot (their
	// backoff); runWaits every wait for a limit in this run (it continues
	// as new after limitWaitsPerRun).
	limitWaits, runWaits int
	// waiting is the WaitingFor search attribute value last written.
	waiting models.WaitingFor
}

func (d *delivery) run(ctx workflow.Context) (DeliveryResult, error) {
	for number := d.in.FirstAttempt; ; number++ {
		drainWakeUps(ctx) // came during the wait before this attempt
		sent, err := d.send(ctx, number)
		for err == nil && sent.Outcome == attempt.Limited {
			// The webhook's limits leave no slot: wait (durably; not an
			// attempt, no schedule step) and ask again.
			if err = d.waitForSlot(ctx, number, sent); err == nil {
				sent, err = d.send(ctx, number)
			}
		}
		drainWakeUps(ctx) // came during the send that got its slot
		if temporal.IsCanceledError(err) {
			return d.cancelled(ctx)
		}
		if err != nil {
			return DeliveryResult{}, err
		}
		d.limitWaits = 0
		d.progress.LastOutcome = sent.Outcome
		if sent.Attempt != nil {
			d.progress.Attempts++
		}

		next := d.decide(ctx, sent)
		if err := d.record(ctx, sent, next); err != nil {
			return DeliveryResult{}, err
		}
		if err := d.setStatus(ctx, next.delivery, next.at); err != nil {
			return DeliveryResult{}, err
		}
		if err := d.setWaiting(ctx, next.waitingFor); err != nil {
			return DeliveryResult{}, err
		}
		if next.delivery != models.DeliveryAwaitingRetry {
			return d.end(ctx, DeliveryResult{Status: next.delivery, Attempts: d.progress.Attempts})
		}
		// A durable timer: survives worker and server restarts, and shows in
		// the history (and the Web UI's timeline) as TimerStarted/TimerFired.
		timer := workflow.NewTimerWithOptions(ctx, next.wait, workflow.TimerOptions{
			Summary: fmt.Sprintf("wait %s before attempt %d", next.wait, number+1),
		})
		if err := timer.Get(ctx, nil); temporal.IsCanceledError(err) {
			return d.cancelled(ctx)
		} else if err != nil {
			return DeliveryResult{}, err
		}
	}
}

// DeadLetter is the error type of a run that ended with its delivery in
// the dead-letter queue: the Web UI shows such a run as Failed, and
// `ExecutionStatus = "Failed"` lists the dead letters. The error's details
// are the DeliveryResult.
const DeadLetter = "DeadLetter"

// deadLetterFails is the change that made a dead letter fail its run; runs
// recorded before it complete, as they did.
const deadLetterFails = "dead-letter-fails-run"

// end closes the run with its result: a run whose delivery went to the
// dead-letter queue fails (a test send never does: it has no queue).
func (d *delivery) end(ctx workflow.Context, res DeliveryResult) (DeliveryResult, error) {
	if res.Status != models.DeliveryFailed || d.in.Trigger == models.TriggerTest {
		return res, nil
	}
	if workflow.GetVersion(ctx, deadLetterFails, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return res, nil
	}
	return res, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("delivery %s is in the dead-letter queue (attempts: %d); replay it from the API or the console", d.in.DeliveryID, res.Attempts),
		DeadLetter, nil, res)
}

// cancelled ends a delivery whose workflow was cancelled (its webhook was
// disabled or deleted): the delivery is recorded `cancelled` at once rather
// than at its next attempt. The record runs on a disconnected context, since
// the workflow's own is cancelled.
func (d *delivery) cancelled(ctx workflow.Context) (DeliveryResult, error) {
	next := transition{delivery: models.DeliveryCancelled}
	if err := d.record(ctx, attempt.Result{Outcome: attempt.Cancelled}, next); err != nil {
		return DeliveryResult{}, err
	}
	if err := d.setStatus(ctx, next.delivery, nil); err != nil {
		return DeliveryResult{}, err
	}
	return DeliveryResult{Status: models.DeliveryCancelled, Attempts: d.progress.Attempts}, nil
}

// transition is the state one attempt leads to.
type transition struct {
	delivery   models.DeliveryStatus
	webhook    models.WebhookStatus
	wait       time.Duration
	at         *time.Time
	waitingFor models.WaitingFor
}

// decide applies the retry policy to an attempt's result.
func (d *delivery) decide(ctx workflow.Context, sent attempt.Result) transition {
	t := transition{}
	switch sent.Outcome {
	case attempt.Success:
		t.delivery, t.webhook = models.DeliverySucceeded, models.WebhookActive
	case attempt.Cancelled:
		t.delivery = models.DeliveryCancelled
	case attempt.Held:
		t.delivery = models.DeliveryHeld
	case attempt.Gone:
		t.delivery, t.webhook = models.DeliveryFailed, models.WebhookDisabled
	case attempt.Rejected:
		t.delivery, t.webhook = models.DeliveryFailed, models.WebhookFailed
	default:
		t.delivery, t.webhook = models.DeliveryAwaitingRetry, models.WebhookAwaitingRetry
		if wait, ok := d.throttleWait(ctx, sent); ok {
			t.wait, t.waitingFor = wait, models.WaitingForRetryAfter
			break
		}
		// The schedule continues where an earlier run of this delivery left
		// it (a pause, a reconciled start).
		retry := d.in.RetriesUsed + d.retries
		if retry >= len(d.delays) {
			t.delivery, t.webhook = models.DeliveryFailed, models.WebhookRetryLimitReached
			break
		}
		d.retries++
		t.wait = attempt.RetryWait(d.delays[retry], sent.RetryAfter)
	}
	if t.delivery == models.DeliveryAwaitingRetry {
		at := workflow.Now(ctx).Add(t.wait)
		t.at = &at
	}
	if d.in.Trigger == models.TriggerTest {
		t.webhook = "" // a test never changes the webhook's health
	}
	return t
}

func (d *delivery) send(ctx workflow.Context, number int) (attempt.Result, error) {
	d.progress.Status = models.DeliveryDelivering
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary: fmt.Sprintf("attempt %d", number),
		// One try: the webhook's timeout (at most 60s) plus loading state.
		StartToCloseTimeout: 90 * time.Second,
		// The workflow owns the retry schedule: a failed POST is an outcome,
		// not an activity error. Errors here are webhookd's own (database
		// down, before anything is sent) and are retried for as long as a
		// database outage may reasonably last.
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	var res attempt.Result
	err := workflow.ExecuteLocalActivity(ctx, SendActivity, SendInput{
		DeliveryID: d.in.DeliveryID, Attempt: number, Trigger: d.in.Trigger,
		Run: workflow.GetInfo(ctx).FirstRunID,
	}).Get(ctx, &res)
	return res, err
}

func (d *delivery) record(ctx workflow.Context, sent attempt.Result, next transition) error {
	// What was sent is recorded even if the workflow is being cancelled
	// meanwhile: the attempt happened.
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 24 * time.Hour,
		// Recording is idempotent and never sends anything, so it may retry
		// for as long as the database needs.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
	return workflow.ExecuteLocalActivity(ctx, RecordActivity, RecordInput{
		DeliveryID:     d.in.DeliveryID,
		WebhookID:      d.in.WebhookID,
		RunID:          d.runID,
		Attempt:        sent.Attempt,
		DeliveryStatus: next.delivery,
		NextAttemptAt:  next.at,
		WaitingFor:     next.waitingFor,
		WebhookStatus:  next.webhook,
	}).Get(ctx, nil)
}

// setStatus keeps the query answer and the DeliveryStatus search attribute
// current.
func (d *delivery) setStatus(ctx workflow.Context, status models.DeliveryStatus, next *time.Time) error {
	d.progress.Status, d.progress.NextAttemptAt = status, next
	if status == d.indexed {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryStatusAttr.ValueSet(string(status))); err != nil {
		return fmt.Errorf("upsert DeliveryStatus: %w", err)
	}
	d.indexed = status
	return nil
}
