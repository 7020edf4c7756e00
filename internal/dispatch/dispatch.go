// Package dispatch hands deliveries to their Temporal workflows and acts on
// those workflows: the outbox starter starts what ingest committed, replay
// restarts a delivery, reconcile re-starts what has no workflow, stopping a
// webhook cancels its deliveries, tenant deletion ends a tenant's runs, bulk
// replays of the dead-letter queue run as jobs, and test sends wait for
// their one attempt. It reaches Temporal only through Runner (implemented
// by internal/runner), so it is tested with a fake.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// invalidator is the matcher of this process (ingest.Matcher): told when a
// tenant deletion made here must be seen by the next event.
type invalidator interface {
	Invalidate(tenant string)
}

// Dispatcher starts delivery workflows and acts on them.
type Dispatcher struct {
	store   *store.Store
	runner  Runner
	matcher invalidator
	log     *slog.Logger
	// Poster sends tests of unsaved webhooks (TestUnsaved).
	Poster *deliver.Poster
	// Tracer records a span per workflow start, in the trace the delivery
	// was ingested in; the zero Tracer is tracing off.
	Tracer tracing.Tracer
	// WakeUps, when set, counts the wake-ups of concurrency waiters by
	// outcome: WakeWaiter's and WakeConcurrencyWaiters'.
	WakeUps WakeUpObserver
	wakeup  *wakeup
	waiters *waiterWakes
}

// New returns a Dispatcher storing in s, running workflows through r and
// telling m of the webhook changes it makes.
func New(s *store.Store, r Runner, m invalidator, log *slog.Logger) *Dispatcher {
	return &Dispatcher{store: s, runner: r, matcher: m, log: log, wakeup: newWakeup(), waiters: newWaiterWakes()}
}

// Wake tells this process's starter (NewStarter) that deliveries entered
// the outbox, committed by ingest or released by a resumed webhook: it
// starts them now. Without a starter, they wait for another process's.
func (d *Dispatcher) Wake() { d.wakeup.Wake() }

// WakeAt tells this process's starter that a batch closes at t.
func (d *Dispatcher) WakeAt(t time.Time) { d.wakeup.WakeAt(t) }

// parallelism bounds concurrent Temporal calls of one operation (the
// starter's starts, a webhook's cancellations, a tenant deletion's
// terminations): the Temporal server is the bottleneck and overload lowers
// its throughput.
const parallelism = 16

// eachRun calls call for every id, parallelism at a time, and returns how
// many calls succeeded and the errors other than ErrNoRun (a run closed or
// gone); every id is tried whatever the others answer.
func eachRun(ids []string, call func(id string) error) (done int, errs []error) {
	var (
		g  errgroup.Group
		mu sync.Mutex
	)
	g.SetLimit(parallelism)
	for _, id := range ids {
		g.Go(func() error {
			err := call(id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				done++
			case !errors.Is(err, ErrNoRun):
				errs = append(errs, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	return done, errs
}

type startMode int

const (
	startNew       startMode = iota // first start, from the outbox
	startReconcile                  // again, if no run is open
	startResume                     // again after a pause: a new run that continues the schedule
	startReplay                     // a new run, ending any open one, with a fresh schedule
)

// start starts the workflow of a delivery to wh.
func (d *Dispatcher) start(ctx context.Context, del models.Delivery, wh *models.Webhook, mode startMode) error {
	ctx, span := d.Tracer.StartAt(ctx, del.TraceParent, "start delivery", trace.WithAttributes(
		attribute.String("webhookd.delivery_id", del.ID), attribute.String("webhookd.webhook_id", del.WebhookID),
		attribute.String("webhookd.tenant_id", del.TenantID), attribute.String("webhookd.event_id", del.EventID)))
	defer span.End()
	if err := d.runner.Start(ctx, deliveryRun(del, wh, mode)); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("start workflow for delivery %s: %w", del.ID, err)
	}
	return nil
}

// deliveryRun is the workflow run of a delivery to wh: its id, input, the
// search attributes and memo the Web UI shows, and how an earlier run of the
// same delivery is treated.
func deliveryRun(del models.Delivery, wh *models.Webhook, mode startMode) Run {
	// Each attempt recorded used a step of the schedule, except the
	// throttling answers waited out without one; those count toward their
	// own bound, over every run.
	firstAttempt := del.AttemptCount + 1
	retriesUsed, throttled := max(del.AttemptCount-del.ThrottleWaits, 0), del.ThrottleWaits
	if mode == startReplay || del.Trigger == models.TriggerReplay {
		retriesUsed, throttled = 0, 0 // a replay's schedule starts again
	}
	trigger := del.Trigger
	if mode == startReplay {
		trigger = models.TriggerReplay
	}
	if trigger == "" {
		trigger = models.TriggerScheduled
	}
	r := Run{
		WorkflowID: workflows.DeliveryWorkflowID(del.ID),
		Workflow:   workflows.DeliveryWorkflow,
		Input: workflows.DeliveryInput{
			DeliveryID: del.ID, TenantID: del.TenantID, WebhookID: del.WebhookID, EventID: del.EventID, EventType: del.EventType,
			Trigger: del.Trigger, FirstAttempt: firstAttempt, RetriesUsed: retriesUsed, Throttled: throttled, RetryDelays: retryDelays(wh),
		},
		SearchAttributes: map[string]string{
			workflows.TenantIDAttr.GetName():        del.TenantID,
			workflows.WebhookIDAttr.GetName():       del.WebhookID,
			workflows.EventTypeAttr.GetName():       del.EventType,
			workflows.DeliveryStatusAttr.GetName():  string(models.DeliveryPending),
			workflows.DeliveryTriggerAttr.GetName(): string(trigger),
		},
		Memo:     map[string]string{"tenantId": del.TenantID, "webhookName": wh.Name, "endpoint": redact.Origin(wh.Endpoint)},
		Summary:  fmt.Sprintf("%s → %s", del.EventType, wh.Name),
		Priority: Priority{Fairness: fairnessKey(del.TenantID)},
	}
	switch mode {
	case startNew:
		// A delivery's first start must happen once. When this process
		// also runs a worker (webhookd dev, or an api with API_WORKER),
		// the first workflow task comes back with the start response.
		r.Policy, r.Eager, r.Priority.Key = Once, true, PriorityFirst
		if del.Trigger == models.TriggerTest {
			r.Priority.Key = PriorityTest
		}
	case startReconcile:
		r.Policy, r.Priority.Key = Again, PriorityAgain // a new run deliberately, unless one is open
	case startResume:
		r.Policy, r.Priority.Key = Again, PriorityRelease
	case startReplay:
		r.Policy, r.Priority.Key = Replace, PriorityRelease
	}
	return r
}

// fairnessKey is the tenant's fairness key: Temporal takes at most 64 bytes
// (tenant ids are shorter; a longer one shares its key with its prefix).
func fairnessKey(tenant string) string {
	if len(tenant) > 64 {
		return tenant[:64]
	}
	return tenant
}

// retryDelays is the webhook's own retry schedule (webhookConfig.retrySchedule),
// nil for the default. The workflow input carries it, so that a run keeps the
// schedule it started with even if the webhook is edited meanwhile.
func retryDelays(wh *models.Webhook) []time.Duration {
	var out []time.Duration
	for _, ms := range wh.RetrySchedule {
		out = append(out, time.Duration(ms)*time.Millisecond)
	}
	return out
}
