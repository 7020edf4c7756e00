package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/webhookd/webhookd/workflows"
)

// logLongestFirstAttempts logs, for the n first attempts that waited
// longest after their claim, among deliveries claimed since since, where the time went, read from the
// workflow's history: the wait for its first workflow task (Temporal's
// queue) and each durable wait for a limit before the request, ended by
// its timer or by a wake-up (limits-changed). Polls that double (0.5, 1, 2,
// 4 s) are refusals by the worker (the webhook's gate, the tenant's
// share); the limiter's own polls follow the waiter's place in line.
func logLongestFirstAttempts(ctx context.Context, b *testing.B, c client.Client, dbURL string, since time.Time, n int) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	type slow struct {
		id                string
		wait              time.Duration
		dispatched, tried time.Time
	}
	var slowest []slow
	queryDB(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		rows, _ := conn.Query(ctx, `SELECT d.id, extract(epoch FROM a.started_at - d.dispatched_at)::float8, d.dispatched_at, a.started_at
			FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.number = 1 AND d.dispatched_at >= $1
			ORDER BY 2 DESC LIMIT $2`, since, n)
		var err error
		slowest, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (slow, error) {
			var s slow
			var secs float64
			err := r.Scan(&s.id, &secs, &s.dispatched, &s.tried)
			s.wait = time.Duration(secs * float64(time.Second))
			return s, err
		})
		return err
	})
	for _, s := range slowest {
		b.Logf("first attempt waited %v: %s", s.wait.Round(time.Millisecond), waitStory(ctx, c, s.id, s.dispatched, s.tried))
	}
}

// waitStory tells a delivery's first attempt's waits from its history:
// from its claim (dispatched) to its workflow's start (the start call),
// to its first workflow task (Temporal's queue), its waits for limits,
// and from the last event before the attempt to the attempt (tried: the
// workflow task and the send's loading and limiter). The times come from
// three clocks (the claiming process, the worker, the Temporal server),
// one machine's here. Only the latest run is read: a first attempt made
// after a continue-as-new (100 waits) shows that run's waits alone.
func waitStory(ctx context.Context, c client.Client, deliveryID string, dispatched, tried time.Time) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var started, picked, before time.Time
	var waits []string
	var timers int
	var trail []string // the events up to the attempt, the last few kept
	var woken []string
	ms := func(from, to time.Time) string {
		if from.IsZero() || to.IsZero() {
			return "n/a"
		}
		return to.Sub(from).Round(time.Millisecond).String()
	}
	it := c.GetWorkflowHistory(ctx, workflows.DeliveryWorkflowID(deliveryID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "history: " + err.Error()
		}
		at := ev.GetEventTime().AsTime()
		if !at.After(tried) {
			before = at
			name := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
			trail = append(trail, name+"@"+ms(dispatched, at))
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			started = at
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if picked.IsZero() {
				picked = at
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			var summary string
			_ = converter.GetDefaultDataConverter().FromPayload(ev.GetUserMetadata().GetSummary(), &summary)
			if !strings.HasPrefix(summary, "attempt 1 waits") {
				continue
			}
			timers++
			d := ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration()
			waits = append(waits, fmt.Sprintf("%v at %s", d.Round(10*time.Millisecond), ms(dispatched, at)))
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if !at.After(tried) && ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.LimitsChangedSignal {
				woken = append(woken, ms(dispatched, at))
			}
		}
	}
	trail = trail[max(0, len(trail)-8):]
	return fmt.Sprintf("start %s, queue %s, %d limit waits %v, wake-ups at %v, last event to attempt %s (times from the claim); last events %v",
		ms(dispatched, started), ms(started, picked), timers, waits, woken, ms(before, tried), trail)
}
