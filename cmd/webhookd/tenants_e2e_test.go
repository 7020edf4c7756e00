package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// createTenantWebhook makes a webhook of tenant (as the admin) with one
// event filter.
func (st *stack) createTenantWebhook(tenant, name, filter, endpoint string) string {
	st.t.Helper()
	var out map[string]any
	code := st.call("POST", "/api/v1/webhooks", map[string]any{
		"tenantId": tenant, "name": name, "webhookType": "Generic",
		"eventFilters":  []any{map[string]any{"eventType": filter}},
		"webhookConfig": map[string]any{"endpoint": endpoint, "timeout": 5},
	}, &out)
	if code != 201 {
		st.t.Fatalf("create webhook %s/%s: %d %v", tenant, name, code, out)
	}
	return out["id"].(string)
}

func (st *stack) postTenantEvent(tenant, id, typ string) ingestAnswerT {
	st.t.Helper()
	var out ingestAnswerT
	if code := st.call("POST", "/api/v1/events", map[string]any{"tenantId": tenant, "id": id, "type": typ}, &out); code != 202 {
		st.t.Fatalf("post event %s/%s: %d %+v", tenant, id, code, out)
	}
	return out
}

// TestEndToEndTenantIsolation: on a real Temporal server, an event of tenant
// acme reaches acme's receiver only, never beta's, even though beta's webhook
// subscribes to every event type; each delivery is found in the Web UI by
// TenantId and its envelope names its tenant.
func TestEndToEndTenantIsolation(t *testing.T) {
	st := newStack(t)
	rcA, rcB := newRecorder(t, always(200)), newRecorder(t, always(200))
	hookA := st.createTenantWebhook("acme", "orders", "order.*", rcA.URL)
	st.createTenantWebhook("beta", "everything", "*", rcB.URL)

	ansA := st.postTenantEvent("acme", "evt-1", "order.created")
	if len(ansA.Deliveries) != 1 || ansA.Deliveries[0].WebhookID != hookA {
		t.Fatalf("acme's event matched %+v", ansA.Deliveries)
	}
	// A default-tenant event and another acme one; beta's own event.
	if ans := st.postTenantEvent("default", "evt-1", "order.created"); len(ans.Deliveries) != 0 {
		t.Fatalf("a default-tenant event matched %+v", ans.Deliveries)
	}
	st.postTenantEvent("acme", "evt-2", "order.paid")
	ansB := st.postTenantEvent("beta", "evt-1", "anything.at.all")

	rcA.waitHits(t, 2, 10*time.Second)
	rcB.waitHits(t, 1, 10*time.Second)
	st.waitDelivery(ansB.Deliveries[0].ID, "succeeded", 10*time.Second)
	time.Sleep(500 * time.Millisecond) // anything misrouted would have arrived by now
	if rcA.count() != 2 || rcB.count() != 1 {
		t.Fatalf("acme's receiver got %d, beta's %d; want 2 and 1", rcA.count(), rcB.count())
	}
	var env map[string]any
	if err := json.Unmarshal(rcB.get(0).body, &env); err != nil || env["tenantId"] != "beta" || env["event"] != "anything.at.all" {
		t.Fatalf("beta's envelope = %s", rcB.get(0).body)
	}
	for i := range 2 {
		if err := json.Unmarshal(rcA.get(i).body, &env); err != nil || env["tenantId"] != "acme" {
			t.Fatalf("acme's envelope = %s", rcA.get(i).body)
		}
	}
	waitVisible(t, st, `TenantId = "acme"`, 2)
	waitVisible(t, st, `TenantId = "beta" AND DeliveryStatus = "succeeded"`, 1)
	// The memo names the tenant too (the Web UI shows it on the workflow).
	desc, err := st.client.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(ansB.Deliveries[0].ID), "")
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
	st := newStack(t, time.Hour) // a failed attempt waits an hour: the workflow stays open
	failing, ok := newRecorder(t, always(500)), newRecorder(t, always(200))
	st.createTenantWebhook("acme", "down", "*", failing.URL)
	st.createTenantWebhook("beta", "up", "*", ok.URL)
	a := st.postTenantEvent("acme", "evt-1", "order.created")
	b := st.postTenantEvent("beta", "evt-1", "order.created")
	st.waitDelivery(a.Deliveries[0].ID, "awaitingRetry", 10*time.Second)
	st.waitDelivery(b.Deliveries[0].ID, "succeeded", 10*time.Second)

	var out map[string]any
	if code := st.call("DELETE", "/api/v1/tenants/acme", nil, &out); code != 200 {
		t.Fatalf("delete tenant: %d %v", code, out)
	}
	if out["workflowsEnded"] != float64(1) || out["deliveries"] != float64(1) || out["attempts"] != float64(1) ||
		out["events"] != float64(2) || out["webhooks"] != float64(1) { // the event, and the operational event its failure raised
		t.Fatalf("delete answer = %v", out)
	}
	desc, err := st.client.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(a.Deliveries[0].ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("acme's delivery workflow is %v, want terminated", got)
	}
	dump := storetest.Inspect(t, st.dbURL).Dump()
	if strings.Contains(dump, `"acme"`) {
		t.Fatalf("rows of acme remain: %s", dump)
	}
	if !strings.Contains(dump, `"beta"`) || !strings.Contains(dump, b.Deliveries[0].ID) {
		t.Fatalf("beta's rows are gone: %s", dump)
	}
}
