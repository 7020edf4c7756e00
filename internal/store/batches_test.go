package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func batchTarget(w *models.Webhook) store.BatchTarget {
	return store.BatchTarget{WebhookID: w.ID, MaxEvents: w.BatchSize, MaxWait: time.Minute, NewID: uuid.Must(uuid.NewV7()).String()}
}

// TestBatchIngestsInOppositeOrdersDoNotDeadlock: two requests whose events
// join the same two batches in opposite orders both succeed.
func TestBatchIngestsInOppositeOrdersDoNotDeadlock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := newWebhook("a"), newWebhook("b")
		for _, w := range []*models.Webhook{a, b} {
			w.BatchEnabled, w.BatchSize, w.BatchMaxWaitMs = true, 100000, 60000
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		seed := []store.Ingestion{
			{Event: newEvent("seed-a", store.Now()), Batches: []store.BatchTarget{batchTarget(a)}},
			{Event: newEvent("seed-b", store.Now()), Batches: []store.BatchTarget{batchTarget(b)}},
		}
		if _, err := s.IngestEvents(ctx, seed); err != nil {
			t.Fatal(err)
		}
		request := func(prefix string, first, second *models.Webhook) []store.Ingestion {
			ins := []store.Ingestion{{Event: newEvent(prefix+"-first", store.Now()), Batches: []store.BatchTarget{batchTarget(first)}}}
			for i := range 300 { // time between the two joins
				ins = append(ins, store.Ingestion{Event: newEvent(fmt.Sprintf("%s-%d", prefix, i), store.Now())})
			}
			return append(ins, store.Ingestion{Event: newEvent(prefix+"-second", store.Now()), Batches: []store.BatchTarget{batchTarget(second)}})
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, in := range [][]store.Ingestion{request("x", a, b), request("y", b, a)} {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = s.IngestEvents(ctx, in) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("a batch ingest failed: %v", err)
			}
		}
		// Each event is in one batch of its webhook; b's batches hold its
		// three events between them (a batch the other request held was
		// skipped, not waited for).
		batches := map[string]int{}
		for _, id := range []string{"seed-b", "x-second", "y-first"} {
			ds, err := s.EventDeliveries(ctx, models.DefaultTenant, id)
			if err != nil || len(ds) != 1 || ds[0].WebhookID != b.ID {
				t.Fatalf("%s's batches: %+v %v (want one of b's)", id, ds, err)
			}
			batches[ds[0].ID] = ds[0].BatchSize
		}
		total := 0
		for _, n := range batches {
			total += n
		}
		if total != 3 {
			t.Fatalf("b's batches %v hold %d events, want 3", batches, total)
		}
	})
}

// TestBatchClosesBeforeItGrowsPastOneBody: events too big to share a body
// go in separate batches.
func TestBatchClosesBeforeItGrowsPastOneBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("big")
		w.BatchEnabled, w.BatchSize, w.BatchMaxWaitMs = true, 100, 60000
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		big := fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 400<<10))
		var batches []string
		for i := range 5 {
			ev := newEvent(fmt.Sprintf("big-%d", i), store.Now())
			ev.Data = []byte(big)
			res, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev, Batches: []store.BatchTarget{batchTarget(w)}}})
			if err != nil {
				t.Fatal(err)
			}
			batches = append(batches, res[0].Deliveries[0].ID)
		}
		// About 400 KiB each: two fit under 1 MiB, the third opens a new batch.
		if batches[0] != batches[1] || batches[1] == batches[2] || batches[2] != batches[3] || batches[3] == batches[4] {
			t.Fatalf("batches %v, want [a a b b c]", batches)
		}
		first, _ := s.GetDelivery(ctx, batches[0])
		if first.BatchClosesAt == nil || first.BatchClosesAt.After(store.Now()) {
			t.Fatalf("the full batch did not close: %+v", first)
		}
	})
}

// TestBatchJoinNeverWaitsForAnotherProducer: while another transaction
// holds a webhook's open batch, an event for that webhook opens a batch of
// its own at once instead of waiting for the lock (producers posting to
// one batching webhook do not take turns).
func TestBatchJoinNeverWaitsForAnotherProducer(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	w := newWebhook("w")
	w.BatchEnabled, w.BatchSize, w.BatchMaxWaitMs = true, 100, 60000
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	first, err := s.IngestEvents(ctx, []store.Ingestion{{Event: newEvent("first", store.Now()), Batches: []store.BatchTarget{batchTarget(w)}}})
	if err != nil {
		t.Fatal(err)
	}
	held := first[0].Deliveries[0].ID
	other := storetest.Inspect(t, url)
	other.Exec("BEGIN")
	other.Exec(fmt.Sprintf("SELECT id FROM deliveries WHERE id = '%s' FOR UPDATE", held))
	defer other.Exec("ROLLBACK")
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := s.IngestEvents(waitCtx, []store.Ingestion{{Event: newEvent("second", store.Now()), Batches: []store.BatchTarget{batchTarget(w)}}})
	if err != nil {
		t.Fatalf("ingest while the open batch is held: %v", err)
	}
	if d := res[0].Deliveries[0]; d.ID == held || d.BatchSize != 1 {
		t.Fatalf("second event went to %s (size %d); want a new batch beside the held %s", d.ID, d.BatchSize, held)
	}
}
