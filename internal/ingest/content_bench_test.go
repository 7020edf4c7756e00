package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// BenchmarkMatchContentFilters: matching one event against 1,000 webhooks
// that route by content (each its own filter on data.customer.id: looked up
// by value), against 1,000 whose filters must each run (data.customer.id
// in [...]: scanned), and against 1,000 that route by type (each its own
// event type), and against 1,000 on the one type that each run a filter
// without CEL (an include term on the entity, customerId:c-<i>: the
// baseline with no content filter), one match every time: what content
// routing adds to an event, in the matcher alone.
func BenchmarkMatchContentFilters(b *testing.B) {
	s := storetest.Open(b, store.Postgres)
	ctx := context.Background()
	now := store.Now()
	const n = 1000
	for i := range n {
		for _, w := range []*models.Webhook{
			{TenantID: "content", EventFilters: []models.EventFilter{{EventType: "order.created", Filter: fmt.Sprintf("data.customer.id == \"c-%d\"", i)}}},
			{TenantID: "scan", EventFilters: []models.EventFilter{{EventType: "order.created", Filter: fmt.Sprintf("data.customer.id in [\"c-%d\"]", i)}}},
			{TenantID: "types", EventFilters: []models.EventFilter{{EventType: fmt.Sprintf("order.created.c-%d", i)}}},
			{TenantID: "terms", EventFilters: []models.EventFilter{{EventType: "order.created", Include: []string{fmt.Sprintf("customerId:c-%d", i)}}}},
		} {
			w.ID, w.Name, w.WebhookType, w.Enabled, w.Status = uuid.NewString(), fmt.Sprintf("h%d", i), models.WebhookGeneric, true, models.WebhookActive
			w.BatchSize, w.TimeoutSeconds, w.Version, w.Endpoint, w.CreatedAt, w.UpdatedAt = 10, 10, 0.1, "https://e.x", now, now
			if err := s.CreateWebhook(ctx, w); err != nil {
				b.Fatal(err)
			}
		}
	}
	items := make([]string, 8)
	for j := range items {
		items[j] = fmt.Sprintf(`{"sku": "sku-%d", "qty": %d, "price": %d.5}`, j, j+1, j)
	}
	data := json.RawMessage(fmt.Sprintf(`{"orderId": "ord_1", "customer": {"id": "c-500", "email": "b@example.com"}, "currency": "EUR",
		"amount": 120.5, "items": [%s], "note": %q}`, strings.Join(items, ","), strings.Repeat("n", 400)))
	m := ingest.NewMatcher(s, 0)
	for _, c := range []struct{ tenant, typ string }{{"content", "order.created"}, {"scan", "order.created"}, {"types", "order.created.c-500"}, {"terms", "order.created"}} {
		v, err := s.Versions(ctx, c.tenant)
		if err != nil {
			b.Fatal(err)
		}
		match := func(b *testing.B) {
			ev, err := filter.ParseEvent(c.typ, "customer", json.RawMessage(`{"customerId": "c-500"}`), nil)
			if err != nil {
				b.Fatal(err)
			}
			ev.Content = &filter.Content{Type: c.typ, TenantID: c.tenant, Data: data}
			hooks, err := m.MatchAt(ctx, c.tenant, v.Webhooks, ev)
			if err != nil || len(hooks) != 1 {
				b.Fatalf("%d %v", len(hooks), err)
			}
		}
		match(b) // loads the tenant, compiling its filters
		b.Run(c.tenant, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				match(b)
			}
			// CPU time, not only wall time: on a machine shared with other
			// work, wall time measures the neighbours too.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
