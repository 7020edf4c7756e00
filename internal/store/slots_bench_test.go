package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// BenchmarkSlotCycle: what every attempt asks of the store around its
// request (LoadDelivery, AcquireSlot, ReleaseSlot after a success), by
// senders at once on one webhook whose maxConcurrency admits them all,
// on PostgreSQL through a proxy that counts round trips. It reports
// cycles/s, round trips per cycle, and the mean AcquireSlot (acquire-ms:
// mostly waiting for, and holding, the webhook's limiter row).
func BenchmarkSlotCycle(b *testing.B) {
	for _, senders := range []int{8, 32} {
		url := storetest.PostgresURL(b)
		if !strings.Contains(url, "sslmode=disable") {
			// The proxy counts plain protocol messages; TLS bytes would
			// make its count wrong without an error.
			b.Skip("BenchmarkSlotCycle counts round trips on a plain connection: set sslmode=disable in TEST_DATABASE_URL")
		}
		proxy := storetest.NewProxy(b, url)
		s := storetest.OpenURL(b, proxy.URL(url), discard())
		ctx := context.Background()
		w := newWebhook("w")
		w.MaxConcurrency = senders
		if err := s.CreateWebhook(ctx, w); err != nil {
			b.Fatal(err)
		}
		ids := make([]string, senders)
		for i := range ids {
			ev := newEvent(fmt.Sprintf("ev-%d", i), store.Now())
			d := newDelivery(ev, w.ID, models.DeliveryPending, ev.CreatedAt)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				b.Fatal(err)
			}
			ids[i] = d.ID
		}
		var acquireNs, cycles atomic.Int64
		cycle := func(id string) error {
			dc, err := s.LoadDelivery(ctx, id)
			if err != nil {
				return err
			}
			wh := dc.Webhook
			holder := fmt.Sprintf("%s/%d", id, cycles.Add(1))
			start := time.Now()
			slot, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: id, WebhookID: wh.ID, Holder: holder,
				MaxConcurrency: wh.MaxConcurrency, RateLimit: wh.RateLimit, Lease: time.Minute})
			acquireNs.Add(int64(time.Since(start)))
			if err != nil || !slot.Granted {
				return fmt.Errorf("acquire: %+v %v", slot, err)
			}
			_, err = s.ReleaseSlot(ctx, wh.ID, holder, wh.RateLimit, store.Success)
			return err
		}
		// run makes n cycles with every sender at work.
		run := func(b *testing.B, n int64) {
			var next atomic.Int64
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Go(func() {
					for next.Add(1) <= n {
						if err := cycle(id); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			run(b, int64(senders)) // every sender's connection opened
			trips := proxy.RoundTrips()
			acquireNs.Store(0)
			b.ResetTimer()
			run(b, int64(b.N))
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
			b.ReportMetric(float64(proxy.RoundTrips()-trips)/float64(b.N), "roundtrips/cycle")
			b.ReportMetric(float64(acquireNs.Load())/float64(b.N)/1e6, "acquire-ms")
		})
	}
}
