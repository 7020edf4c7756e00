package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// TestEndToEndTenantIsolation: on a real Temporal server, an event of tenant
// acme reaches acme's receiver only, never beta's, even though beta's webhook
// subscribes to every event type; each delivery is found in the Web UI by
// TenantId and its envelope names its tenant.
func TestEndToEndTenantIsolation(t *testing.T) {
	st := rig.NewStack(t)
	rcA, rcB := rig.NewRecorder(t, rig.Always(200)), rig.NewRecorder(t, rig.Always(200))
	hookA := st.CreateTenantWebhook("acme", "orders", "order.*", rcA.URL)
	st.CreateTenantWebhook("beta", "everything", "*", rcB.URL)

	ansA := st.PostTenantEvent("acme", "evt-1", "order.created")
	if len(ansA.Deliveries) != 1 || ansA.Deliveries[0].WebhookID != hookA {
		t.Fatalf("acme's event matched %+v", ansA.Deliveries)
	}
	// A default-tenant event and another acme one; beta's own event.
	if ans := st.PostTenantEvent("default", "evt-1", "order.created"); len(ans.Deliveries) != 0 {
		t.Fatalf("a default-tenant event matched %+v", ans.Deliveries)
	}
	st.PostTenantEvent("acme", "evt-2", "order.paid")
	ansB := st.PostTenantEvent("beta", "evt-1", "anything.at.all")

	rcA.WaitHits(t, 2, 10*time.Second)
	rcB.WaitHits(t, 1, 10*time.Second)
	st.WaitDelivery(ansB.Deliveries[0].ID, "succeeded", 10*time.Second)
	time.Sleep(500 * time.Millisecond) // anything misrouted would have arrived by now
	if rcA.Count() != 2 || rcB.Count() != 1 {
		t.Fatalf("acme's receiver got %d, beta's %d; want 2 and 1", rcA.Count(), rcB.Count())
	}
	var env map[string]any
	if err := json.Unmarshal(rcB.Get(0).Body, &env); err != nil || env["tenantId"] != "beta" || env["event"] != "anything.at.all" {
		t.Fatalf("beta's envelope = %s", rcB.Get(0).Body)
	}
	for i := range 2 {
		if err := json.Unmarshal(rcA.Get(i).Body, &env); err != nil || env["tenantId"] != "acme" {
			t.Fatalf("acme's envelope = %s", rcA.Get(i).Body)
		}
	}
	waitVisible(t, st, `TenantId = "acme"`, 2)
	waitVisible(t, st, `TenantId = "beta" AND DeliveryStatus = "succeeded"`, 1)
	// The memo names the tenant too (the Web UI shows it on the workflow).
	desc, err := st.Client.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(ansB.Deliveries[0].ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if memo := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()["tenantId"]; memo == nil || !strings.Contains(string(memo.GetData()), "beta") {
		t.Fatalf("memo = %v", desc.GetWorkflowExecutionInfo().GetMemo())
	}
}

// TestEndToEndTenantDeletion: deleting a tenant terminates its delivery
// workflows that wait for a retry and leaves no row of it; another tenant
// keeps everything.
func TestEndToEndTenantDeletion(t *testing.T) {
	st := rig.NewStack(t, time.Hour) // a failed attempt waits an hour: the workflow stays open
	failing, ok := rig.NewRecorder(t, rig.Always(500)), rig.NewRecorder(t, rig.Always(200))
	st.CreateTenantWebhook("acme", "down", "*", failing.URL)
	st.CreateTenantWebhook("beta", "up", "*", ok.URL)
	a := st.PostTenantEvent("acme", "evt-1", "order.created")
	b := st.PostTenantEvent("beta", "evt-1", "order.created")
	st.WaitDelivery(a.Deliveries[0].ID, "awaitingRetry", 10*time.Second)
	st.WaitDelivery(b.Deliveries[0].ID, "succeeded", 10*time.Second)

	var out map[string]any
	if code := st.Call("DELETE", "/api/v1/tenants/acme", nil, &out); code != 200 {
		t.Fatalf("delete tenant: %d %v", code, out)
	}
	if out["workflowsEnded"] != float64(1) || out["deliveries"] != float64(1) || out["attempts"] != float64(1) ||
		out["events"] != float64(2) || out["webhooks"] != float64(1) { // the event, and the operational event its failure raised
		t.Fatalf("delete answer = %v", out)
	}
	desc, err := st.Client.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(a.Deliveries[0].ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("acme's delivery workflow is %v, want terminated", got)
	}
	dump := storetest.Inspect(t, st.DBURL).Dump()
	if strings.Contains(dump, `"acme"`) {
		t.Fatalf("rows of acme remain: %s", dump)
	}
	if !strings.Contains(dump, `"beta"`) || !strings.Contains(dump, b.Deliveries[0].ID) {
		t.Fatalf("beta's rows are gone: %s", dump)
	}
}
