// Package workflows holds webhookd's Temporal workflows. Workflow code is
// deterministic: time comes from workflow.Now, waits are durable timers, and
// all I/O happens in activities.
package workflows

import "go.temporal.io/sdk/temporal"

// Names under which workflows, activities and queries are registered. They
// are part of the stored histories: never rename one that has run.
const (
	DeliveryWorkflow = "DeliverWebhook"
	SendActivity     = "SendWebhookRequest"
	RecordActivity   = "RecordDeliveryAttempt"
	ProgressQuery    = "progress"
	// LimitsChangedSignal tells a delivery waiting for a limit of its
	// webhook to ask again at once: the webhook's rateLimit was raised or
	// removed (its rate slot came nearer than the old rate gave it), a
	// request of the webhook ended and freed the concurrency slot it
	// waits for, or its maxConcurrency was raised.
	LimitsChangedSignal    = "limits-changed"
	DefaultTaskQueue       = "webhooks"
	deliveryWorkflowPrefix = "delivery-"
)

// DeliveryWorkflowID is the workflow id of a delivery: one per delivery, the
// same across replays (each replay is a new run).
func DeliveryWorkflowID(deliveryID string) string { return deliveryWorkflowPrefix + deliveryID }

// Search attributes kept current on every delivery workflow, so that the Web
// UI and `temporal workflow list --query` filter deliveries.
var (
	TenantIDAttr       = temporal.NewSearchAttributeKeyKeyword("TenantId")
	WebhookIDAttr      = temporal.NewSearchAttributeKeyKeyword("WebhookId")
	EventTypeAttr      = temporal.NewSearchAttributeKeyKeyword("EventType")
	DeliveryStatusAttr = temporal.NewSearchAttributeKeyKeyword("DeliveryStatus")
	// DeliveryTriggerAttr tells first deliveries (scheduled), replays and
	// test sends apart: `DeliveryTrigger != "test"`.
	DeliveryTriggerAttr = temporal.NewSearchAttributeKeyKeyword("DeliveryTrigger")
	// WaitingForAttr is what a delivery waits for (rateLimit, concurrency,
	// retryAfter), set only while it waits.
	WaitingForAttr = temporal.NewSearchAttributeKeyKeyword("WaitingFor")
)

// SearchAttributeNames lists the custom search attributes to register.
var SearchAttributeNames = []string{
	TenantIDAttr.GetName(), WebhookIDAttr.GetName(), EventTypeAttr.GetName(), DeliveryStatusAttr.GetName(),
	DeliveryTriggerAttr.GetName(), WaitingForAttr.GetName(),
}
