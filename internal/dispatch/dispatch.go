// Package dispatch turns accepted events into delivery workflows: it matches
// events to webhooks, stores deliveries, and starts (from the outbox),
// restarts (replay) or re-starts (reconcile) their Temporal workflows. It is
// the only package that calls Temporal on the API's behalf.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// Dispatcher starts delivery workflows.
type Dispatcher struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	Logger    *slog.Logger
	Matcher   *Matcher
	// Poster sends tests of unsaved webhooks (TestUnsaved).
	Poster *deliver.Poster
	// Starter, when set, is woken by ingest; without one (a process that
	// only serves reads) deliveries wait for another process's starter.
	Starter *Starter
	// RetryDelays shortens the retry schedule. Tests only: no configuration
	// reaches it.
	RetryDelays []time.Duration
}

// New returns a Dispatcher with its matcher.
func New(s *store.Store, c client.Client, taskQueue string, log *slog.Logger) *Dispatcher {
	return &Dispatcher{Store: s, Temporal: c, TaskQueue: taskQueue, Logger: log, Matcher: NewMatcher(s, DefaultMatcherMaxAge)}
}

// CheckTemporal reports whether the Temporal frontend answers (readiness).
func (d *Dispatcher) CheckTemporal(ctx context.Context) error {
	_, err := d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// WebhooksChanged tells the matcher that a webhook of tenant was written by
// this process, so the next event sees the change.
func (d *Dispatcher) WebhooksChanged(tenant string) { d.Matcher.Invalidate(tenant) }

// startParallelism bounds concurrent Temporal calls of one operation (the
// starter's starts, a tenant deletion's terminations): the Temporal server
// is the bottleneck and overload lowers its throughput.
const startParallelism = 16

type startMode int

const (
	startNew       startMode = iota // first start, from the outbox
	startReconcile                  // again, if no run is open
	startResume                     // again after a pause: a new run that continues the schedule
	startReplay                     // a new run, ending any open one, with a fresh schedule
)

func (d *Dispatcher) start(ctx context.Context, del models.Delivery, wh *models.Webhook, mode startMode) error {
	firstAttempt, retriesUsed := del.AttemptCount+1, del.AttemptCount
	if mode == startReplay || del.Trigger == models.TriggerReplay {
		retriesUsed = 0 // a replay's schedule starts again
	}
	opts := client.StartWorkflowOptions{
		ID:        workflows.DeliveryWorkflowID(del.ID),
		TaskQueue: d.TaskQueue,
		// A delivery's first start must happen once: if a run exists at all
		// (a start whose answer was lost, then retried), it is that run.
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.TenantIDAttr.ValueSet(del.TenantID),
			workflows.WebhookIDAttr.ValueSet(del.WebhookID),
			workflows.EventTypeAttr.ValueSet(del.EventType),
			workflows.DeliveryStatusAttr.ValueSet(string(models.DeliveryPending)),
		),
		Memo:          map[string]any{"tenantId": del.TenantID, "webhookName": wh.Name, "endpoint": redact.Origin(wh.Endpoint)},
		StaticSummary: fmt.Sprintf("%s → %s", del.EventType, wh.Name),
	}
	switch mode {
	case startNew:
		// When this process also runs a worker (webhookd dev, or an api
		// with API_WORKER), the first workflow task comes back with the
		// start response: no poll round trip.
		opts.EnableEagerStart = true
	case startReconcile, startResume:
		// A new run deliberately, unless one is open.
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	case startReplay:
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	}
	in := workflows.DeliveryInput{
		DeliveryID: del.ID, TenantID: del.TenantID, WebhookID: del.WebhookID, EventID: del.EventID, EventType: del.EventType,
		Trigger: del.Trigger, FirstAttempt: firstAttempt, RetriesUsed: retriesUsed, RetryDelays: d.retryDelays(wh),
	}
	_, err := d.Temporal.ExecuteWorkflow(ctx, opts, workflows.DeliveryWorkflow, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil // started before: nothing to do
	}
	if err != nil {
		return fmt.Errorf("start workflow for delivery %s: %w", del.ID, err)
	}
	return nil
}

// retryDelays is the webhook's own retry schedule (webhookConfig.retrySchedule),
// nil for the default. The workflow input carries it, so that a run keeps the
// schedule it started with even if the webhook is edited meanwhile.
func (d *Dispatcher) retryDelays(wh *models.Webhook) []time.Duration {
	if len(d.RetryDelays) > 0 {
		return d.RetryDelays // tests only
	}
	var out []time.Duration
	for _, ms := range wh.RetrySchedule {
		out = append(out, time.Duration(ms)*time.Millisecond)
	}
	return out
}
