package dispatchtest

import (
	"testing"

	"github.com/webhookd/webhookd/internal/dispatch"
)

// TestQueriesSelectWhatTemporalWould: the fake's List reads webhookd's
// visibility queries as Temporal does, and refuses what it cannot read.
func TestQueriesSelectWhatTemporalWould(t *testing.T) {
	run := dispatch.Run{WorkflowID: "delivery-1", Workflow: "DeliverWebhook",
		SearchAttributes: map[string]string{"TenantId": "acme", "EventType": "order.created"}}
	for _, c := range []struct {
		query string
		open  bool
		want  bool
	}{
		{`WorkflowType IN ("DeliverWebhook", "ReplayDeadLetters") AND TenantId = "acme" AND ExecutionStatus = 'Running'`, true, true},
		{`WorkflowType IN ("DeliverWebhook", "ReplayDeadLetters") AND TenantId = "acme" AND ExecutionStatus = 'Running'`, false, false},
		{`WorkflowType IN ("ReplayDeadLetters") AND TenantId = "acme"`, true, false},
		{`TenantId = "beta"`, true, false},
		{`TenantId='acme' and EventType = "order.created"`, false, true},
		{`WebhookId = "w1"`, true, false}, // an attribute the run does not have
		{`WorkflowId = "delivery-1"`, true, true},
	} {
		w, err := parseQuery(c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if got, err := w.match(run, c.open); err != nil || got != c.want {
			t.Errorf("%s (open %v) = %v %v, want %v", c.query, c.open, got, err, c.want)
		}
	}
	for _, q := range []string{`TenantId != "acme"`, `TenantId = "acme" OR TenantId = "beta"`, `TenantId = acme`, `TenantId IN ("a"`, ``} {
		if _, err := parseQuery(q); err == nil {
			t.Errorf("%q was read", q)
		}
	}
	w, _ := parseQuery(`ExecutionStatus = 'Completed'`)
	if _, err := w.match(run, false); err == nil {
		t.Error("a closed run's status was faked")
	}
}
