package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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

// tenantStore is what a tenant deletion reads and deletes.
type tenantStore interface {
	TenantExists(ctx context.Context, tenant string) (bool, error)
	DisableTenantWebhooks(ctx context.Context, tenant string) error
	OpenDeliveryIDs(ctx context.Context, tenant, after string, limit int) ([]string, error)
	DeleteTenantData(ctx context.Context, tenant string) (store.TenantPurge, error)
}

// TenantDeleter removes tenants that leave.
type TenantDeleter struct {
	store   tenantStore
	runner  Runner
	matcher invalidator
	log     *slog.Logger
}

// NewTenantDeleter returns a TenantDeleter deleting from s, ending runs
// through r and telling m that the tenant's webhooks are gone.
func NewTenantDeleter(s tenantStore, r Runner, m invalidator, log *slog.Logger) *TenantDeleter {
	return &TenantDeleter{store: s, runner: r, matcher: m, log: log}
}

// DeleteTenant removes everything of a tenant; see TenantDeleter.DeleteTenant.
func (d *Dispatcher) DeleteTenant(ctx context.Context, tenant string) (TenantDeleted, error) {
	return NewTenantDeleter(d.store, d.runner, d.matcher, d.log).DeleteTenant(ctx, tenant)
}

// DeleteTenant removes everything of a tenant, for a customer who leaves:
// its webhooks stop matching first, then its open delivery workflows and
// replay jobs are terminated, then its rows are deleted. Writes racing with
// it (an ingest that matched just before, a replay) are swept up by a few
// more rounds, and workflows started meanwhile are found through Temporal's
// visibility by their TenantId. Running it again after a failure finishes
// the job.
func (d *TenantDeleter) DeleteTenant(ctx context.Context, tenant string) (TenantDeleted, error) {
	var out TenantDeleted
	exists, err := d.store.TenantExists(ctx, tenant)
	if err != nil {
		return out, err
	}
	if !exists {
		return out, ErrNoSuchTenant
	}
	for round := 0; exists && round < tenantDeleteRounds; round++ {
		if err := d.store.DisableTenantWebhooks(ctx, tenant); err != nil {
			return out, fmt.Errorf("disable webhooks: %w", err)
		}
		d.matcher.Invalidate(tenant)
		n, err := d.endDeliveryWorkflows(ctx, tenant)
		out.WorkflowsEnded += n
		if err != nil {
			return out, err
		}
		purge, err := d.store.DeleteTenantData(ctx, tenant)
		out.Webhooks += purge.Webhooks
		out.Events += purge.Events
		out.Deliveries += purge.Deliveries
		out.Attempts += purge.Attempts
		if err != nil {
			return out, fmt.Errorf("delete rows: %w", err)
		}
		if exists, err = d.store.TenantExists(ctx, tenant); err != nil {
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
		d.log.WarnContext(ctx, "tenant deletion: visibility query failed", "tenant_id", tenant, "error", err)
	}
	if exists {
		out.Warnings = append(out.Warnings, "new rows kept arriving for the tenant while it was deleted; delete it again")
	}
	d.log.InfoContext(ctx, "tenant deleted", "tenant_id", tenant, "webhooks", out.Webhooks,
		"events", out.Events, "deliveries", out.Deliveries, "workflows_ended", out.WorkflowsEnded)
	return out, nil
}

// tenantDeleteRounds bounds the sweeps of rows written during a deletion.
const tenantDeleteRounds = 3

// endDeliveryWorkflows terminates the workflow of every delivery of the
// tenant still in progress, a few at a time.
func (d *TenantDeleter) endDeliveryWorkflows(ctx context.Context, tenant string) (int, error) {
	ended, after := 0, ""
	for {
		ids, err := d.store.OpenDeliveryIDs(ctx, tenant, after, 500)
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
func (d *TenantDeleter) endRunning(ctx context.Context, tenant string) (int, error) {
	query := fmt.Sprintf("WorkflowType IN (%q, %q) AND TenantId = %q AND ExecutionStatus = 'Running'",
		workflows.DeliveryWorkflow, workflows.DLQReplayWorkflow, tenant)
	ids, err := d.runner.List(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("list running workflows: %w", err)
	}
	return d.terminateAll(ctx, ids)
}

// terminateAll terminates the open runs of the given workflows; a workflow
// already closed or gone is not an error.
func (d *TenantDeleter) terminateAll(ctx context.Context, wfIDs []string) (int, error) {
	ended, errs := eachRun(wfIDs, func(id string) error {
		if err := d.runner.Terminate(ctx, id, terminateReason); err != nil {
			return fmt.Errorf("terminate %s: %w", id, err)
		}
		return nil
	})
	return ended, errors.Join(errs...)
}
