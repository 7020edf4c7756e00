package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// BenchmarkIngestFanOut: storing one event with its deliveries to 1 and to
// 1,000 webhooks, on both databases: the store's share of a fan-out's
// answer (e2e/bench BenchmarkFanOut measures the whole answer). "planned"
// stores the 1,000 as the event's plan, as ingest does past its inline
// fan-out; the starter inserts them later.
func BenchmarkIngestFanOut(b *testing.B) {
	for _, d := range storetest.Backends {
		for _, n := range []int{1, 1000, -1000} {
			planned := n < 0
			n = max(n, -n)
			name := fmt.Sprintf("%s/webhooks=%d", d, n)
			if planned {
				name += "/planned"
			}
			b.Run(name, func(b *testing.B) {
				s, analyze := storetest.Open(b, d), func() {}
				if d == store.Postgres {
					var url string
					s, url = storetest.OpenPostgres(b)
					// Statistics as a running database has them: without,
					// the foreign-key check plans a scan of webhooks per row.
					analyze = func() { storetest.Inspect(b, url).Exec("ANALYZE webhooks") }
				}
				ctx := context.Background()
				hooks := make([]string, n)
				for i := range hooks {
					w := newWebhook(fmt.Sprintf("w%d", i))
					if err := s.CreateWebhook(ctx, w); err != nil {
						b.Fatal(err)
					}
					hooks[i] = w.ID
				}
				analyze()
				b.ResetTimer()
				for i := range b.N {
					ev := newEvent(fmt.Sprintf("ev-%d", i), store.Now())
					ds := make([]models.Delivery, n)
					for j, id := range hooks {
						ds[j] = newDelivery(ev, id, models.DeliveryPending, ev.CreatedAt)
					}
					in := store.Ingestion{Event: ev, Deliveries: ds}
					if planned {
						in = store.Ingestion{Event: ev, Planned: ds}
					}
					if _, err := s.IngestEvents(ctx, []store.Ingestion{in}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
