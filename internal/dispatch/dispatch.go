// Package dispatch turns accepted events into delivery workflows: it matches
// events to webhooks, stores deliveries, and starts, restarts (replay) or
// re-starts (reconcile) their Temporal workflows.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

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
	// RetryDelays shortens the retry schedule. Tests only: no configuration
	// reaches it.
	RetryDelays []time.Duration
}

// startParallelism bounds concurrent StartWorkflow calls for one event: the
// Temporal server is the bottleneck and overload lowers its throughput
// (FACTS.md), so an event with many matches does not flood it.
const startParallelism = 8

type startMode int

const (
	startNew       startMode = iota // first start, at ingest
	startReconcile                  // again, if no run is open
	startReplay                     // a new run, ending any open one
)

func (d *Dispatcher) start(ctx context.Context, del models.Delivery, wh *models.Webhook, mode startMode, firstAttempt int) error {
	opts := client.StartWorkflowOptions{
		ID:        workflows.DeliveryWorkflowID(del.ID),
		TaskQueue: d.TaskQueue,
		// A delivery id names one delivery forever; a new run is allowed
		// because replays and reconciliation start one deliberately.
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.WebhookIDAttr.ValueSet(del.WebhookID),
			workflows.EventTypeAttr.ValueSet(del.EventType),
			workflows.DeliveryStatusAttr.ValueSet(string(models.DeliveryPending)),
		),
		Memo:          map[string]any{"webhookName": wh.Name, "endpoint": redact.URL(wh.Endpoint)},
		StaticSummary: fmt.Sprintf("%s → %s", del.EventType, wh.Name),
	}
	switch mode {
	case startNew:
		// When this process also runs a worker (webhookd dev), the first
		// workflow task comes back with the start response: no poll round trip.
		opts.EnableEagerStart = true
	case startReconcile:
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	case startReplay:
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	}
	in := workflows.DeliveryInput{
		DeliveryID: del.ID, WebhookID: del.WebhookID, EventID: del.EventID, EventType: del.EventType,
		Trigger: del.Trigger, FirstAttempt: firstAttempt, RetryDelays: d.RetryDelays,
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

// startAll starts one workflow per delivery, a few at a time. Failures are
// left to the reconciler: the deliveries are already stored.
func (d *Dispatcher) startAll(ctx context.Context, ds []models.Delivery, hooks map[string]*models.Webhook) error {
	sem := make(chan struct{}, startParallelism)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, del := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := d.start(ctx, del, hooks[del.WebhookID], startNew, 1); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
