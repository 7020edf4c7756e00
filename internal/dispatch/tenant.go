package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/workflows"
)

// TenantDeleted counts what DeleteTenant removed.
type TenantDeleted struct {
	store.TenantPurge
	// WorkflowsEnded counts delivery workflows and replay jobs terminated.
	WorkflowsEnded int
	// Warnings say what could not be checked; the rows are gone all the same.
	Warnings []string
}

// ErrNoSuchTenant means nothing is stored for the tenant.
var ErrNoSuchTenant = errors.New("no such tenant")

const terminateReason = "tenant deleted through the webhookd API"

// DeleteTenant removes everything of a tenant, for a customer who leaves:
// its webhooks stop matching first, then its open delivery workflows and
// replay jobs are terminated, then its rows are deleted. Writes racing with
// it (an ingest that matched just before, a replay) are swept up by a few
// more rounds, and workflows started meanwhile are found through Temporal's
// visibility by their TenantId. Running it again after a failure finishes
// the job.
func (d *Dispatcher) DeleteTenant(ctx context.Context, tenant string) (TenantDeleted, error) {
	var out TenantDeleted
	exists, err := d.Store.TenantExists(ctx, tenant)
	if err != nil {
		return out, err
	}
	if !exists {
		return out, ErrNoSuchTenant
	}
	for round := 0; exists && round < tenantDeleteRounds; round++ {
		if err := d.Store.DisableTenantWebhooks(ctx, tenant); err != nil {
			return out, fmt.Errorf("disable webhooks: %w", err)
		}
		d.Matcher.Invalidate(tenant)
		n, err := d.endDeliveryWorkflows(ctx, tenant)
		out.WorkflowsEnded += n
		if err != nil {
			return out, err
		}
		purge, err := d.Store.DeleteTenantData(ctx, tenant)
		out.Webhooks += purge.Webhooks
		out.Events += purge.Events
		out.Deliveries += purge.Deliveries
		out.Attempts += purge.Attempts
		if err != nil {
			return out, fmt.Errorf("delete rows: %w", err)
		}
		if exists, err = d.Store.TenantExists(ctx, tenant); err != nil {
			return out, err
		}
	}
	// Whatever still runs for the tenant (replay jobs, and a workflow
	// started by a racing write after its rows were read) is found by its
	// search attribute. Visibility may be unavailable on some clusters: the
	// rows are gone, and such a workflow ends at its next attempt (it finds
	// its delivery gone), so this is reported rather than fatal.
	n, err := d.endRunning(ctx, tenant)
	out.WorkflowsEnded += n
	if err != nil {
		out.Warnings = append(out.Warnings, "could not look for running workflows of the tenant: "+err.Error())
		d.Logger.WarnContext(ctx, "tenant deletion: visibility query failed", "tenant_id", tenant, "error", err)
	}
	if exists {
		out.Warnings = append(out.Warnings, "new rows kept arriving for the tenant while it was deleted; delete it again")
	}
	d.Logger.InfoContext(ctx, "tenant deleted", "tenant_id", tenant, "webhooks", out.Webhooks,
		"events", out.Events, "deliveries", out.Deliveries, "workflows_ended", out.WorkflowsEnded)
	return out, nil
}

// tenantDeleteRounds bounds the sweeps of rows written during a deletion.
const tenantDeleteRounds = 3

// endDeliveryWorkflows terminates the workflow of every delivery of the
// tenant still in progress, a few at a time.
func (d *Dispatcher) endDeliveryWorkflows(ctx context.Context, tenant string) (int, error) {
	ended, after := 0, ""
	for {
		ids, err := d.Store.OpenDeliveryIDs(ctx, tenant, after, 500)
		if err != nil {
			return ended, err
		}
		if len(ids) == 0 {
			return ended, nil
		}
		wfIDs := make([]string, len(ids))
		for i, id := range ids {
			wfIDs[i] = workflows.DeliveryWorkflowID(id)
		}
		n, err := d.terminateAll(ctx, wfIDs)
		ended += n
		if err != nil {
			return ended, err
		}
		after = ids[len(ids)-1]
	}
}

// endRunning terminates the tenant's running delivery workflows and bulk
// replays, found through Temporal's visibility by their TenantId search
// attribute.
func (d *Dispatcher) endRunning(ctx context.Context, tenant string) (int, error) {
	query := fmt.Sprintf("WorkflowType IN (%q, %q) AND TenantId = %q AND ExecutionStatus = 'Running'",
		workflows.DeliveryWorkflow, workflows.DLQReplayWorkflow, tenant)
	var ids []string
	var token []byte
	for {
		resp, err := d.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return 0, fmt.Errorf("list running workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return d.terminateAll(ctx, ids)
}

// terminateAll terminates the open runs of the given workflows; a workflow
// already closed or gone is not an error.
func (d *Dispatcher) terminateAll(ctx context.Context, wfIDs []string) (int, error) {
	sem := make(chan struct{}, startParallelism)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ended int
		errs  []error
	)
	for _, id := range wfIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := d.Temporal.TerminateWorkflow(ctx, id, "", terminateReason)
			var nf *serviceerror.NotFound
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ended++
			case errors.As(err, &nf):
			default:
				errs = append(errs, fmt.Errorf("terminate %s: %w", id, err))
			}
		}()
	}
	wg.Wait()
	return ended, errors.Join(errs...)
}
