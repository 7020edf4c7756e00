package ingest_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// BenchmarkIngestWithEventQuota is what the per-tenant event quota costs
// an ingest on PostgreSQL (one matching webhook, one tenant, 8 producers at
// once): "off" is the baseline of the same run; "on" never refuses (a
// quota far above the rate reached), so both store the same events.
//
//	go test -run '^$' -bench IngestWithEventQuota -benchtime 3000x ./internal/ingest/
func BenchmarkIngestWithEventQuota(b *testing.B) {
	for _, c := range []struct {
		name      string
		perSecond int
	}{{"off", 0}, {"on", 1_000_000}} {
		b.Run(c.name, func(b *testing.B) {
			s := storetest.Open(b, store.Postgres)
			in := ingest.New(s, ingest.NewMatcher(s, ingest.DefaultMatcherMaxAge), quietWaker{})
			in.EventsPerSecond = c.perSecond
			w := &models.Webhook{ID: "00000000-0000-4000-8000-000000000001", TenantID: "acme", Name: "one", WebhookType: models.WebhookGeneric,
				Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
				EventFilters: []models.EventFilter{{EventType: "order.*"}}, Endpoint: "https://example.com/in", CreatedAt: store.Now(), UpdatedAt: store.Now()}
			if err := s.CreateWebhook(b.Context(), w); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(4) // 8 producers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ev := models.Event{TenantID: "acme", ID: fmt.Sprintf("e%d", n.Add(1)), Type: "order.created", Timestamp: store.Now()}
					if _, err := in.Ingest(b.Context(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// quietWaker is a starter that is not there (the benchmark starts nothing).
type quietWaker struct{}

func (quietWaker) Wake()            {}
func (quietWaker) WakeAt(time.Time) {}
