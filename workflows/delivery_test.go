package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// harness runs the delivery workflow in the SDK's time-skipping test
// environment with scripted send outcomes, recording when each attempt ran
// and what was written.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	outcomes []attempt.Result
	sends    []time.Duration // offset from start of each attempt
	numbers  []int
	records  []RecordInput
}

func newHarness(t *testing.T, outcomes ...attempt.Result) *harness {
	h := &harness{t: t, env: newTestEnv(), outcomes: outcomes}
	h.start = h.env.Now()
	h.env.RegisterWorkflowWithOptions(Delivery, workflowOpts())
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in SendInput) (attempt.Result, error) {
		h.sends = append(h.sends, h.env.Now().Sub(h.start))
		h.numbers = append(h.numbers, in.Attempt)
		i := min(len(h.sends), len(h.outcomes)) - 1
		res := h.outcomes[i]
		switch {
		case res.Outcome == attempt.Cancelled || res.Outcome == attempt.Held || res.Outcome == attempt.Limited: // nothing sent
		case res.Attempt != nil: // an answer scripted with its status code
			a := *res.Attempt
			a.Number, a.Trigger = in.Attempt, in.Trigger
			res.Attempt = &a
		default:
			res.Attempt = &attempt.Record{Number: in.Attempt, Trigger: in.Trigger}
		}
		return res, nil
	}, activity.RegisterOptions{Name: SendActivity})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in RecordInput) error {
		h.records = append(h.records, in)
		return nil
	}, activity.RegisterOptions{Name: RecordActivity})
	return h
}

func (h *harness) run(in DeliveryInput) DeliveryResult {
	h.t.Helper()
	h.env.ExecuteWorkflow(DeliveryWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var res DeliveryResult
	if err := h.env.GetWorkflowError(); err != nil {
		// A dead letter fails its run, with the result as the details.
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != DeadLetter || !app.NonRetryable() {
			h.t.Fatalf("workflow failed: %v", err)
		}
		if err := app.Details(&res); err != nil {
			h.t.Fatal(err)
		}
		if res.Status != models.DeliveryFailed || in.Trigger == models.TriggerTest {
			h.t.Fatalf("run failed as a dead letter with %+v (trigger %q)", res, in.Trigger)
		}
		return res
	}
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	if res.Status == models.DeliveryFailed && in.Trigger != models.TriggerTest {
		h.t.Fatalf("a dead letter completed its run: %+v", res)
	}
	return res
}

func (h *harness) last() RecordInput { return h.records[len(h.records)-1] }

var (
	fail    = attempt.Result{Outcome: attempt.Failure}
	success = attempt.Result{Outcome: attempt.Success}
	input   = DeliveryInput{DeliveryID: "d1", WebhookID: "w1", EventID: "e1", EventType: "entityCreated", Trigger: models.TriggerScheduled}
)

func TestRetryScheduleExactTimes(t *testing.T) {
	h := newHarness(t, fail)
	res := h.run(input)

	want := []time.Duration{0, time.Minute, 6 * time.Minute, 21 * time.Minute, 81 * time.Minute, 321 * time.Minute, 1041 * time.Minute}
	if len(h.sends) != len(want) {
		t.Fatalf("attempts = %d, want %d (%v)", len(h.sends), len(want), h.sends)
	}
	for i := range want {
		if h.sends[i] != want[i] {
			t.Errorf("attempt %d at +%v, want +%v", i+1, h.sends[i], want[i])
		}
		if h.numbers[i] != i+1 {
			t.Errorf("attempt %d numbered %d", i+1, h.numbers[i])
		}
	}
	if res.Status != models.DeliveryFailed || res.Attempts != 7 {
		t.Fatalf("result = %+v, want failed after 7 attempts", res)
	}
	last := h.last()
	if last.DeliveryStatus != models.DeliveryFailed || last.WebhookStatus != models.WebhookRetryLimitReached || last.NextAttemptAt != nil {
		t.Fatalf("final record = %+v, want failed / retryLimitReached", last)
	}
	// Every intermediate failure leaves the webhook awaiting a retry at the
	// time the workflow then waits for.
	for i, r := range h.records[:6] {
		if r.DeliveryStatus != models.DeliveryAwaitingRetry || r.WebhookStatus != models.WebhookAwaitingRetry {
			t.Fatalf("record %d = %+v, want awaitingRetry", i, r)
		}
		if got := r.NextAttemptAt.Sub(h.start); got != want[i+1] {
			t.Errorf("record %d nextAttempt +%v, want +%v", i, got, want[i+1])
		}
	}
}

func TestSuccessOnThirdAttempt(t *testing.T) {
	h := newHarness(t, fail, fail, success)
	res := h.run(input)
	if res.Status != models.DeliverySucceeded || res.Attempts != 3 {
		t.Fatalf("result = %+v", res)
	}
	if h.sends[2] != 6*time.Minute {
		t.Fatalf("third attempt at +%v, want +6m", h.sends[2])
	}
	if last := h.last(); last.WebhookStatus != models.WebhookActive || last.DeliveryStatus != models.DeliverySucceeded {
		t.Fatalf("final record = %+v", last)
	}
}

func TestGoneStopsAndDisables(t *testing.T) {
	h := newHarness(t, fail, attempt.Result{Outcome: attempt.Gone})
	res := h.run(input)
	if res.Status != models.DeliveryFailed || len(h.sends) != 2 {
		t.Fatalf("result = %+v after %d attempts", res, len(h.sends))
	}
	if h.last().WebhookStatus != models.WebhookDisabled {
		t.Fatalf("webhook status = %q, want disabled", h.last().WebhookStatus)
	}
}

func TestRejectedIsFinal(t *testing.T) {
	h := newHarness(t, attempt.Result{Outcome: attempt.Rejected})
	res := h.run(input)
	if res.Status != models.DeliveryFailed || len(h.sends) != 1 || h.last().WebhookStatus != models.WebhookFailed {
		t.Fatalf("result = %+v, records %+v", res, h.records)
	}
}

func TestRetryAfterLengthensNeverShortens(t *testing.T) {
	cases := []struct {
		name       string
		retryAfter time.Duration
		want       time.Duration
	}{
		{"longer than schedule", 10 * time.Minute, 10 * time.Minute},
		{"shorter than schedule", 30 * time.Second, time.Minute},
		{"capped at 12h", 48 * time.Hour, 12 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, attempt.Result{Outcome: attempt.Failure, RetryAfter: c.retryAfter}, success)
			h.run(input)
			if len(h.sends) != 2 || h.sends[1] != c.want {
				t.Fatalf("second attempt at %v, want +%v", h.sends, c.want)
			}
		})
	}
}

func TestCancelledWhenWebhookDisabled(t *testing.T) {
	h := newHarness(t, fail, attempt.Result{Outcome: attempt.Cancelled})
	res := h.run(input)
	if res.Status != models.DeliveryCancelled || res.Attempts != 1 {
		t.Fatalf("result = %+v", res)
	}
	if last := h.last(); last.Attempt != nil || last.WebhookStatus != "" {
		t.Fatalf("a cancellation must record no attempt and leave the webhook alone: %+v", last)
	}
}

func TestTestTriggerMakesOneAttemptAndLeavesWebhookAlone(t *testing.T) {
	h := newHarness(t, fail)
	in := input
	in.Trigger = models.TriggerTest
	res := h.run(in)
	if res.Status != models.DeliveryFailed || len(h.sends) != 1 {
		t.Fatalf("result = %+v after %d attempts", res, len(h.sends))
	}
	if h.last().WebhookStatus != "" {
		t.Fatalf("test delivery changed webhook status to %q", h.last().WebhookStatus)
	}
}

func TestReplayContinuesNumbering(t *testing.T) {
	h := newHarness(t, fail, success)
	in := input
	in.Trigger, in.FirstAttempt = models.TriggerReplay, 8
	h.run(in)
	if len(h.numbers) != 2 || h.numbers[0] != 8 || h.numbers[1] != 9 {
		t.Fatalf("attempt numbers = %v, want [8 9]", h.numbers)
	}
}

func TestProgressQueryWhileAwaitingRetry(t *testing.T) {
	h := newHarness(t, fail, success)
	var got Progress
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(ProgressQuery)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&got); err != nil {
			t.Error(err)
		}
	}, 30*time.Second)
	h.run(input)
	if got.Status != models.DeliveryAwaitingRetry || got.Attempts != 1 || got.NextAttemptAt == nil ||
		got.NextAttemptAt.Sub(h.start) != time.Minute {
		t.Fatalf("progress at +30s = %+v", got)
	}
}

func TestShortenedScheduleForTests(t *testing.T) {
	h := newHarness(t, fail)
	in := input
	in.RetryDelays = []time.Duration{time.Second, 2 * time.Second}
	res := h.run(in)
	if res.Attempts != 3 || h.sends[2] != 3*time.Second {
		t.Fatalf("result %+v, sends %v", res, h.sends)
	}
}

func TestCancelledAtOnceWhileAwaitingRetry(t *testing.T) {
	h := newHarness(t, fail)
	// The webhook is disabled during the 5m wait after attempt 2: the
	// workflow ends then, not at attempt 3.
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 3*time.Minute)
	h.env.ExecuteWorkflow(DeliveryWorkflow, input)
	if !h.env.IsWorkflowCompleted() || h.env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", h.env.IsWorkflowCompleted(), h.env.GetWorkflowError())
	}
	var res DeliveryResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != models.DeliveryCancelled || len(h.sends) != 2 || res.Attempts != 2 {
		t.Fatalf("result %+v after sends at %v, want cancelled after 2 attempts", res, h.sends)
	}
	if last := h.last(); last.DeliveryStatus != models.DeliveryCancelled || last.Attempt != nil || last.WebhookStatus != "" {
		t.Fatalf("last record = %+v, want cancelled with no attempt", last)
	}
	if got := h.env.Now().Sub(h.start); got != 3*time.Minute {
		t.Fatalf("ended at +%v, want at the cancellation (+3m), not the next attempt (+6m)", got)
	}
}

func TestHeldWhilePaused(t *testing.T) {
	h := newHarness(t, fail, attempt.Result{Outcome: attempt.Held})
	res := h.run(input)
	if res.Status != models.DeliveryHeld || len(h.sends) != 2 {
		t.Fatalf("result %+v after %d sends", res, len(h.sends))
	}
	if last := h.last(); last.DeliveryStatus != models.DeliveryHeld || last.Attempt != nil || last.WebhookStatus != "" {
		t.Fatalf("last record = %+v", last)
	}
}

func TestResumedRunContinuesTheSchedule(t *testing.T) {
	h := newHarness(t, fail)
	in := input
	in.FirstAttempt, in.RetriesUsed = 3, 2 // attempts 1 and 2 were made before a pause
	res := h.run(in)
	// Attempt 3 at once, then the waits left: 15m, 1h, 4h, 12h.
	want := []time.Duration{0, 15 * time.Minute, 75 * time.Minute, 315 * time.Minute, 1035 * time.Minute}
	if len(h.sends) != len(want) || res.Attempts != 5 || h.numbers[0] != 3 || h.numbers[4] != 7 {
		t.Fatalf("sends %v numbers %v result %+v", h.sends, h.numbers, res)
	}
	for i := range want {
		if h.sends[i] != want[i] {
			t.Fatalf("attempt %d at +%v, want +%v", h.numbers[i], h.sends[i], want[i])
		}
	}
}

// TestCustomRetrySchedule: a webhook retrying at 1m, 5m and 15m (the
// analytics workspace's schedule) makes four attempts at exactly +0, +1m,
// +6m and +21m, then gives up.
func TestCustomRetrySchedule(t *testing.T) {
	h := newHarness(t, fail)
	in := input
	in.RetryDelays = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}
	res := h.run(in)
	want := []time.Duration{0, time.Minute, 6 * time.Minute, 21 * time.Minute}
	if len(h.sends) != len(want) || res.Status != models.DeliveryFailed {
		t.Fatalf("sends at %v, result %+v", h.sends, res)
	}
	for i := range want {
		if h.sends[i] != want[i] {
			t.Errorf("attempt %d at +%v, want +%v", i+1, h.sends[i], want[i])
		}
	}
	if h.last().WebhookStatus != models.WebhookRetryLimitReached {
		t.Fatalf("last record %+v", h.last())
	}
}
