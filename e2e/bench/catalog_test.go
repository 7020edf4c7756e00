package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// The event catalog's benchmarks: what checking events against a strict
// type's schema, and routing them by content filters, add to ingest. Each
// compares two kinds of event posted in turn (A, B, B, A, ...) to one
// stack, so both see the same machine at the same moments.

// orderSchema is a realistic strict schema: required fields, formats, an
// enum, a nested object and a list of objects.
const orderSchema = `{
  "type": "object",
  "required": ["orderId", "customer", "currency", "amount", "items", "placedAt"],
  "additionalProperties": false,
  "properties": {
    "orderId": {"type": "string", "pattern": "^ord_[0-9]+$"},
    "customer": {"type": "object", "required": ["id", "email"], "properties": {
      "id": {"type": "string"}, "email": {"type": "string", "format": "email"}, "name": {"type": "string", "maxLength": 200}}},
    "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
    "amount": {"type": "number", "minimum": 0},
    "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
    "placedAt": {"type": "string", "format": "date-time"},
    "note": {"type": "string"}
  },
  "$defs": {"item": {"type": "object", "required": ["sku", "qty", "price"], "additionalProperties": false, "properties": {
    "sku": {"type": "string", "minLength": 1}, "qty": {"type": "integer", "minimum": 1}, "price": {"type": "number"}}}}
}`

// orderData is about 1 KB of data valid against orderSchema.
func orderData(i int, customer string) string {
	items := make([]string, 8)
	for j := range items {
		items[j] = fmt.Sprintf(`{"sku": "sku-%04d", "qty": %d, "price": %d.50}`, j, j+1, 10+j)
	}
	return fmt.Sprintf(`{"orderId": "ord_%d", "customer": {"id": %q, "email": "buyer%d@example.com", "name": "Buyer %d"},
		"currency": "EUR", "amount": %d.25, "items": [%s], "placedAt": "2026-12-01T10:00:00.000Z", "note": %q}`,
		i, customer, i, i, 100+i, strings.Join(items, ", "), strings.Repeat("n", 400))
}

// BenchmarkIngestValidation: ingest p50 of events of a strict type (their
// data checked against its schema) ÷ of events of a type with the same
// schema that is not strict (target ≤ 1.3). One webhook takes both.
func BenchmarkIngestValidation(b *testing.B) {
	posts := envInt("WEBHOOKD_BENCH_POSTS", 300)
	for range b.N {
		st := devBenchStack(b, false)
		rc := newEventReceiver(b)
		st.CreateWebhook("orders", rc.URL, rig.Secret) // every event
		for name, strict := range map[string]bool{"order.strict": true, "order.loose": false} {
			body := fmt.Sprintf(`{"name": %q, "schema": %s, "validate": %v}`, name, orderSchema, strict)
			if code := st.Call("POST", "/api/v1/event-types", json.RawMessage(body), nil); code != 201 {
				b.Fatalf("create %s: %d", name, code)
			}
		}
		post := func(typ string) func(i int) string {
			return func(i int) string {
				return fmt.Sprintf(`{"id": "%s-%d", "type": %q, "data": %s}`, typ, i, typ, orderData(i, "c-1"))
			}
		}
		strict, loose := abLatencies(b, st.API.URL, posts, post("order.strict"), post("order.loose"))
		report(b, "validation", strict, loose)
	}
}

// BenchmarkIngestContentFilters: ingest p50 with 1,000 webhooks routing by
// content (each on order.created with its own filter,
// data.customer.id == "c-<i>") ÷ with 1,000 webhooks routing by type (each
// on its own type, order.created.c-<i>), both delivering each event to
// exactly one webhook (target ≤ 1.5). Two tenants of one stack.
func BenchmarkIngestContentFilters(b *testing.B) {
	n := envInt("WEBHOOKD_BENCH_FILTERED", 1000)
	posts := envInt("WEBHOOKD_BENCH_POSTS", 300)
	for range b.N {
		st := devBenchStack(b, false)
		rc := newEventReceiver(b)
		ctx := context.Background()
		now := store.Now()
		for i := range n {
			customer := fmt.Sprintf("c-%d", i)
			for _, w := range []*models.Webhook{
				{TenantID: "content", EventFilters: []models.EventFilter{{EventType: "order.created", Filter: fmt.Sprintf("data.customer.id == %q", customer)}}},
				{TenantID: "types", EventFilters: []models.EventFilter{{EventType: "order.created." + customer}}},
			} {
				w.ID, w.Name, w.WebhookType, w.Enabled, w.Status = uuid.NewString(), "hook-"+customer, models.WebhookGeneric, true, models.WebhookActive
				w.BatchSize, w.BatchMaxWaitMs, w.TimeoutSeconds, w.Version, w.Endpoint = 10, 1000, 10, 0.1, rc.URL
				w.CreatedAt, w.UpdatedAt = now, now
				if err := st.Store.CreateWebhook(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
		}
		byContent := func(i int) string {
			return fmt.Sprintf(`{"tenantId": "content", "id": "c-%d", "type": "order.created", "data": %s}`, i, orderData(i, fmt.Sprintf("c-%d", i%n)))
		}
		byType := func(i int) string {
			return fmt.Sprintf(`{"tenantId": "types", "id": "t-%d", "type": "order.created.c-%d", "data": %s}`, i, i%n, orderData(i, fmt.Sprintf("c-%d", i%n)))
		}
		filtered, typed := abLatencies(b, st.API.URL, posts, byContent, byType)
		report(b, fmt.Sprintf("%d content filters", n), filtered, typed)
	}
}

// warmUp is how many posts of each kind are not measured: the first ones
// load the tenant's webhooks (compiling their filters) and the catalog.
const warmUp = 20

// abLatencies posts n events of each kind, sequentially, in the order
// A B B A A B B A ... and returns the answer times of each kind. Every post
// must be accepted and delivered to exactly one webhook.
func abLatencies(b *testing.B, base string, n int, a, bb func(i int) string) (la, lb []time.Duration) {
	b.Helper()
	client := &http.Client{Timeout: time.Minute}
	for i := range n + warmUp {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, isA := range order {
			body := bb(i)
			if isA {
				body = a(i)
			}
			t0 := time.Now()
			resp, err := client.Post(base+"/api/v1/events", "application/json", strings.NewReader(body))
			took := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			var ans struct {
				Deliveries []struct{} `json:"deliveries"`
			}
			err = json.NewDecoder(resp.Body).Decode(&ans)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted || err != nil || len(ans.Deliveries) != 1 {
				b.Fatalf("post %d: %d %v, %d deliveries", i, resp.StatusCode, err, len(ans.Deliveries))
			}
			if i < warmUp {
				continue
			}
			if isA {
				la = append(la, took)
			} else {
				lb = append(lb, took)
			}
		}
	}
	return la, lb
}

// report prints and records the p50 and p99 of the measured kind (with)
// against the baseline (without), and their ratio.
func report(b *testing.B, what string, with, without []time.Duration) {
	w50, w99 := percentile(with, 0.5), percentile(with, 0.99)
	o50, o99 := percentile(without, 0.5), percentile(without, 0.99)
	b.ReportMetric(ms(w50), "with-p50-ms")
	b.ReportMetric(ms(w99), "with-p99-ms")
	b.ReportMetric(ms(o50), "without-p50-ms")
	b.ReportMetric(ms(o99), "without-p99-ms")
	b.ReportMetric(float64(w50)/float64(o50), "ratio")
	b.Logf("%d cores, %d posts each: ingest p50 %v (p99 %v) with %s, %v (p99 %v) without: ratio %.2f",
		runtime.NumCPU(), len(with), w50, w99, what, o50, o99, float64(w50)/float64(o50))
}
