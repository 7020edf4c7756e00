package workflows

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
)

func answered(status int, retryAfter time.Duration) attempt.Result {
	return attempt.Result{Outcome: attempt.Failure, RetryAfter: retryAfter, Attempt: &attempt.Record{StatusCode: status}}
}

func limited(why models.WaitingFor, wait time.Duration) attempt.Result {
	return attempt.Result{Outcome: attempt.Limited, WaitingFor: why, Wait: wait}
}

// attempts are the sent attempts' records, in order.
func (h *harness) attempts() []*attempt.Record {
	var out []*attempt.Record
	for _, r := range h.records {
		if r.Attempt != nil {
			out = append(out, r.Attempt)
		}
	}
	return out
}

// TestLimitedWaitIsNoAttempt: a send the limits hold back waits exactly the
// reserved time, asks again for the same attempt, and
// uses no step of the schedule: the failure after it still waits the
// schedule's first step.
func TestLimitedWaitIsNoAttempt(t *testing.T) {
	h := newHarness(t, limited(models.WaitingForRateLimit, 3*time.Second), fail, success)
	res := h.run(input)
	if res.Status != models.DeliverySucceeded || res.Attempts != 2 {
		t.Fatalf("result %+v", res)
	}
	wantAt := []time.Duration{0, 3 * time.Second, 3*time.Second + time.Minute}
	if !slices.Equal(h.sends, wantAt) || !slices.Equal(h.numbers, []int{1, 1, 2}) {
		t.Fatalf("sends at %v numbered %v, want %v numbered [1 1 2]", h.sends, h.numbers, wantAt)
	}
	if n := len(h.attempts()); n != 2 {
		t.Fatalf("%d attempts recorded, want 2 (a wait for a limit is none)", n)
	}
}

// TestConcurrencyWaitPollsWithBackoff: a concurrency wait has no known end;
// the delivery asks again after growing waits, then sends.
func TestConcurrencyWaitPollsWithBackoff(t *testing.T) {
	c := limited(models.WaitingForConcurrency, 0)
	h := newHarness(t, c, c, c, success)
	if res := h.run(input); res.Status != models.DeliverySucceeded || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
	if len(h.sends) != 4 {
		t.Fatalf("sends %v", h.sends)
	}
	for i := 1; i < len(h.sends); i++ {
		gap, base := h.sends[i]-h.sends[i-1], firstSlotPoll<<(i-1)
		if gap < base || gap > base*3/2 {
			t.Fatalf("poll %d after %s, want %s..%s (%v)", i, gap, base, base*3/2, h.sends)
		}
	}
}

// TestRetryAfterTwoSecondsIsNoScheduleStep: a 429 with Retry-After: 2 is
// logged as an attempt and retried 2 s later, not after the schedule's
// minute; the schedule is intact for the failure that follows.
func TestRetryAfterTwoSecondsIsNoScheduleStep(t *testing.T) {
	h := newHarness(t, answered(429, 2*time.Second), fail, success)
	res := h.run(input)
	if res.Status != models.DeliverySucceeded || res.Attempts != 3 {
		t.Fatalf("result %+v", res)
	}
	if h.sends[1] < 2*time.Second || h.sends[1] >= time.Minute {
		t.Fatalf("retry after a 429 with Retry-After: 2 at %s", h.sends[1])
	}
	if got := h.sends[2] - h.sends[1]; got != time.Minute {
		t.Fatalf("the failure after the 429 waited %s, want the schedule's first step (1m)", got)
	}
	first := h.records[0]
	if first.Attempt == nil || first.Attempt.StatusCode != 429 || first.WaitingFor != models.WaitingForRetryAfter ||
		first.DeliveryStatus != models.DeliveryAwaitingRetry {
		t.Fatalf("the 429 was recorded as %+v", first)
	}
	if h.records[1].WaitingFor != "" {
		t.Fatalf("waitingFor not cleared: %+v", h.records[1])
	}
}

// TestThrottledForeverEndsInTheDLQ: a receiver answering 429 (or 503)
// forever gets attempt.MaxThrottled throttled retries, then the whole
// schedule, and the delivery fails within the documented bound.
func TestThrottledForeverEndsInTheDLQ(t *testing.T) {
	for _, status := range []int{429, 503} {
		h := newHarness(t, answered(status, 0))
		res := h.run(input)
		want := attempt.MaxThrottled + 1 + len(RetrySchedule)
		if res.Status != models.DeliveryFailed || res.Attempts != want {
			t.Fatalf("%d forever: %+v, want failed after %d attempts", status, res, want)
		}
		var schedule time.Duration
		for _, d := range RetrySchedule {
			schedule += d
		}
		if took := h.sends[len(h.sends)-1]; took > schedule+attempt.MaxThrottled*attempt.MaxThrottleWait {
			t.Fatalf("%d forever: the last attempt came %s after the first, beyond the bound", status, took)
		}
		if last := h.last(); last.WebhookStatus != models.WebhookRetryLimitReached {
			t.Fatalf("last record %+v", last)
		}
	}
}

// TestLongRetryAfterTakesAScheduleStep: a Retry-After beyond
// attempt.MaxThrottleWait is an ordinary failure whose wait it lengthens.
func TestLongRetryAfterTakesAScheduleStep(t *testing.T) {
	h := newHarness(t, answered(503, time.Hour), success)
	h.run(input)
	if h.sends[1] != time.Hour || h.records[0].WaitingFor != "" {
		t.Fatalf("sends %v, first record %+v", h.sends, h.records[0])
	}
}

// TestTestSendIsNeverThrottleRetried: the test button makes one attempt.
func TestTestSendIsNeverThrottleRetried(t *testing.T) {
	h := newHarness(t, answered(429, time.Second))
	in := input
	in.Trigger = models.TriggerTest
	if res := h.run(in); res.Status != models.DeliveryFailed || len(h.sends) != 1 {
		t.Fatalf("%+v after %d sends", res, len(h.sends))
	}
}

// TestLongLimitWaitContinuesAsNew: a delivery that waits for a slot for long
// continues as new after limitWaitsPerRun waits, so its history stays
// bounded however long the wait; the new run makes the same attempt and
// carries what the delivery used: schedule steps, throttling answers,
// attempts, the wait's backoff (polls count; a wait the limiter names
// does not), and the rest of its input as it was.
func TestLongLimitWaitContinuesAsNew(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wait       attempt.Result
		limitWaits int
	}{
		{"a wait the limiter names", limited(models.WaitingForConcurrency, 10*time.Second), 0},
		{"concurrency polls", limited(models.WaitingForConcurrency, 0), limitWaitsPerRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, fail, answered(429, time.Second), tc.wait)
			in := input
			in.Trigger, in.TenantID, in.RetryDelays = models.TriggerReplay, "acme", Waits{time.Minute, time.Hour}
			h.env.ExecuteWorkflow(DeliveryWorkflow, in)
			var cont *workflow.ContinueAsNewError
			if err := h.env.GetWorkflowError(); !errors.As(err, &cont) {
				t.Fatalf("after %d sends the run ended with %v, want it continued as new", len(h.sends), err)
			}
			if waits := len(h.sends) - 2; waits != limitWaitsPerRun { // attempt 3 asked once per wait
				t.Fatalf("continued after %d waits, want %d", waits, limitWaitsPerRun)
			}
			var next DeliveryInput
			if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
				t.Fatal(err)
			}
			want := in
			want.FirstAttempt, want.RetriesUsed, want.Throttled, want.Attempts, want.LimitWaits = 3, 1, 1, 2, tc.limitWaits
			if !reflect.DeepEqual(next, want) {
				t.Fatalf("continued with %+v, want %+v", next, want)
			}
			if cont.WorkflowType.Name != DeliveryWorkflow {
				t.Fatalf("continued as %q", cont.WorkflowType.Name)
			}
		})
	}
}

// TestThrottlingBoundHoldsOverRuns: a run that starts with the delivery's
// throttling waits spent (a resume, the reconciler, a continue-as-new)
// takes a schedule step for the next 429, as the run before it would have.
func TestThrottlingBoundHoldsOverRuns(t *testing.T) {
	h := newHarness(t, answered(429, time.Second), success)
	in := input
	in.Throttled = attempt.MaxThrottled
	h.run(in)
	if h.sends[1] != time.Minute || h.records[0].WaitingFor != "" {
		t.Fatalf("a 429 after %d throttling waits: retried at %s, recorded %+v; want the schedule's first step",
			attempt.MaxThrottled, h.sends[1], h.records[0])
	}
}

// TestRateWaitWakesWhenTheLimitIsRaised: a delivery asleep until a rate
// slot an hour away asks again as soon as its webhook's limits change
// (LimitsChangedSignal), and waits out the nearer slot it is given then.
func TestRateWaitWakesWhenTheLimitIsRaised(t *testing.T) {
	far := limited(models.WaitingForRateLimit, time.Hour)
	h := newHarness(t, far, limited(models.WaitingForRateLimit, 2*time.Second), success)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(LimitsChangedSignal, nil) }, 10*time.Second)
	res := h.run(input)
	if res.Status != models.DeliverySucceeded || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
	want := []time.Duration{0, 10 * time.Second, 12 * time.Second}
	if !slices.Equal(h.sends, want) || !slices.Equal(h.numbers, []int{1, 1, 1}) {
		t.Fatalf("sends at %v numbered %v, want %v numbered [1 1 1]", h.sends, h.numbers, want)
	}
}

// TestStaleWakeUpEndsNoLaterWait: a wake-up that comes during a retry's
// timer, when the delivery waits for no limit, is dropped: the next
// attempt's wait for its rate slot lasts its full time.
func TestStaleWakeUpEndsNoLaterWait(t *testing.T) {
	h := newHarness(t, fail, limited(models.WaitingForRateLimit, 10*time.Second), success)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(LimitsChangedSignal, nil) }, 30*time.Second)
	if res := h.run(input); res.Status != models.DeliverySucceeded || res.Attempts != 2 {
		t.Fatalf("result %+v", res)
	}
	want := []time.Duration{0, time.Minute, time.Minute + 10*time.Second}
	if !slices.Equal(h.sends, want) {
		t.Fatalf("sends at %v, want %v", h.sends, want)
	}
}
