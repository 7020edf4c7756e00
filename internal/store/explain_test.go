package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestDeliveryQueriesAreIndexBacked shows PostgreSQL's plan for every list
// query of the API and checks each is served by the index made for it.
func TestDeliveryQueriesAreIndexBacked(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	now := store.Now()
	cases := []struct {
		name  string
		q     store.DeliveryQuery
		index string // any of these, separated by |
	}{
		{"webhook log", store.DeliveryQuery{WebhookID: "0190a000-0000-7000-8000-000000000001", Limit: 50}, "deliveries_webhook_log"},
		{"webhook log, filtered, next page", store.DeliveryQuery{WebhookID: "0190a000-0000-7000-8000-000000000001", Status: models.DeliveryFailed,
			EventType: "order.paid", Since: now.Add(-time.Hour), Until: now, Limit: 50, AfterCreated: now, AfterID: "0190a000-0000-7000-8000-000000000009"},
			"deliveries_webhook_log|deliveries_dlq"},
		{"dead-letter queue", store.DeliveryQuery{Status: models.DeliveryFailed, Limit: 50}, "deliveries_dlq"},
		{"dead-letter queue, next page", store.DeliveryQuery{Status: models.DeliveryFailed, Limit: 50, AfterCreated: now,
			AfterID: "0190a000-0000-7000-8000-000000000009"}, "deliveries_dlq"},
	}
	for _, c := range cases {
		plan, err := s.ExplainDeliveries(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", c.name, plan)
		used := false
		for _, idx := range strings.Split(c.index, "|") {
			used = used || strings.Contains(plan, idx)
		}
		if !used || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: plan does not use %s", c.name, c.index)
		}
	}
}
