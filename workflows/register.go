package workflows

import "go.temporal.io/sdk/workflow"

func workflowOpts() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: DeliveryWorkflow}
}

// Registry is the part of a Temporal worker that workflows register with.
type Registry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// Register registers every webhookd workflow under its stable name.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(Delivery, workflowOpts())
	r.RegisterWorkflowWithOptions(Reconcile, workflow.RegisterOptions{Name: ReconcileWorkflow})
	r.RegisterWorkflowWithOptions(Retention, workflow.RegisterOptions{Name: RetentionWorkflow})
	r.RegisterWorkflowWithOptions(DLQReplay, workflow.RegisterOptions{Name: DLQReplayWorkflow})
}
