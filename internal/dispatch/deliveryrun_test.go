package dispatch

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestDeliveryRunPerStartMode: how each way of starting a delivery's
// workflow treats an earlier run (policy), whether the start is eager, and
// where the new run's attempt numbering and retry schedule begin; every
// mode carries the same search attributes, memo and summary for the Web UI
// and the webhook's own retry schedule.
func TestDeliveryRunPerStartMode(t *testing.T) {
	wh := &models.Webhook{ID: "w1", Name: "orders", Endpoint: "https://user:secret@hooks.example.com/in?token=t1",
		RetrySchedule: []int64{1000, 60000}}
	delivery := func(attempts int, trigger models.Trigger) models.Delivery {
		return models.Delivery{ID: "d1", TenantID: "acme", WebhookID: "w1", EventID: "evt-1", EventType: "order.created",
			AttemptCount: attempts, Trigger: trigger}
	}
	for _, c := range []struct {
		name        string
		del         models.Delivery
		mode        startMode
		policy      Policy
		eager       bool
		first, used int
		trigger     models.Trigger // the DeliveryTrigger search attribute
		priority    int
	}{
		{"first start", delivery(0, models.TriggerScheduled), startNew, Once, true, 1, 0, models.TriggerScheduled, PriorityFirst},
		{"test send", delivery(0, models.TriggerTest), startNew, Once, true, 1, 0, models.TriggerTest, PriorityTest},
		{"reconcile", delivery(2, models.TriggerScheduled), startReconcile, Again, false, 3, 2, models.TriggerScheduled, PriorityAgain},
		{"resume after a pause", delivery(3, models.TriggerScheduled), startResume, Again, false, 4, 3, models.TriggerScheduled, PriorityRelease},
		{"replay", delivery(4, models.TriggerScheduled), startReplay, Replace, false, 5, 0, models.TriggerReplay, PriorityRelease},
		// A replay restarted by the reconciler keeps its fresh schedule.
		{"reconcile of a replay", delivery(2, models.TriggerReplay), startReconcile, Again, false, 3, 0, models.TriggerReplay, PriorityAgain},
		{"resume of a replay", delivery(1, models.TriggerReplay), startResume, Again, false, 2, 0, models.TriggerReplay, PriorityRelease},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := deliveryRun(c.del, wh, c.mode)
			if r.Policy != c.policy || r.Eager != c.eager {
				t.Errorf("policy %d eager %v, want %d %v", r.Policy, r.Eager, c.policy, c.eager)
			}
			// First attempts go before re-started runs, which go before
			// released work; the tenant is the fairness key.
			if r.Priority != (Priority{Key: c.priority, Fairness: "acme"}) {
				t.Errorf("priority %+v, want key %d for tenant acme", r.Priority, c.priority)
			}
			in, ok := r.Input.(workflows.DeliveryInput)
			if !ok {
				t.Fatalf("input %T", r.Input)
			}
			if in.FirstAttempt != c.first || in.RetriesUsed != c.used {
				t.Errorf("first attempt %d, retries used %d; want %d, %d", in.FirstAttempt, in.RetriesUsed, c.first, c.used)
			}
			if in.DeliveryID != "d1" || in.TenantID != "acme" || in.WebhookID != "w1" || in.EventID != "evt-1" ||
				in.EventType != "order.created" || in.Trigger != c.del.Trigger {
				t.Errorf("input %+v", in)
			}
			if !slices.Equal(in.RetryDelays, []time.Duration{time.Second, time.Minute}) {
				t.Errorf("retry delays %v, want the webhook's 1s, 1m", in.RetryDelays)
			}
			if r.WorkflowID != workflows.DeliveryWorkflowID("d1") || r.Workflow != workflows.DeliveryWorkflow {
				t.Errorf("workflow %s %s", r.WorkflowID, r.Workflow)
			}
			attrs := map[string]string{
				workflows.TenantIDAttr.GetName():        "acme",
				workflows.WebhookIDAttr.GetName():       "w1",
				workflows.EventTypeAttr.GetName():       "order.created",
				workflows.DeliveryStatusAttr.GetName():  string(models.DeliveryPending),
				workflows.DeliveryTriggerAttr.GetName(): string(c.trigger),
			}
			if !maps.Equal(r.SearchAttributes, attrs) {
				t.Errorf("search attributes %v, want %v", r.SearchAttributes, attrs)
			}
			// The Web UI shows the endpoint's origin only: no credentials,
			// no path or query (tokens live there).
			memo := map[string]string{"tenantId": "acme", "webhookName": "orders", "endpoint": "https://hooks.example.com"}
			if !maps.Equal(r.Memo, memo) {
				t.Errorf("memo %v, want %v", r.Memo, memo)
			}
			if r.Summary != "order.created → orders" {
				t.Errorf("summary %q", r.Summary)
			}
		})
	}
}

// TestDeliveryRunWithTheDefaultSchedule: a webhook without its own retry
// schedule leaves the workflow's default in place.
func TestDeliveryRunWithTheDefaultSchedule(t *testing.T) {
	r := deliveryRun(models.Delivery{ID: "d1"}, &models.Webhook{Name: "orders", Endpoint: "https://example.com"}, startNew)
	if d := r.Input.(workflows.DeliveryInput).RetryDelays; d != nil {
		t.Fatalf("retry delays %v, want nil (the default)", d)
	}
}

// TestDeliveryRunCarriesThrottlingWaits: a run started again continues the
// delivery's bound on throttling waits, and counts the attempts those waits
// followed as no schedule step; a replay starts both again.
func TestDeliveryRunCarriesThrottlingWaits(t *testing.T) {
	wh := &models.Webhook{ID: "w1", Name: "orders", Endpoint: "https://hooks.example.com/in"}
	del := models.Delivery{ID: "d1", TenantID: "acme", WebhookID: "w1", EventID: "evt-1", EventType: "order.created",
		AttemptCount: 7, ThrottleWaits: 5, Trigger: models.TriggerScheduled}
	for mode, want := range map[startMode][2]int{startResume: {2, 5}, startReconcile: {2, 5}, startReplay: {0, 0}} {
		in := deliveryRun(del, wh, mode).Input.(workflows.DeliveryInput)
		if in.FirstAttempt != 8 || in.RetriesUsed != want[0] || in.Throttled != want[1] {
			t.Errorf("mode %d: first %d, retries used %d, throttled %d; want 8, %d, %d", mode, in.FirstAttempt, in.RetriesUsed, in.Throttled, want[0], want[1])
		}
	}
}
