package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestReplayOfASequencedDeliveryWaitsForItsSequence: a replay of an ordered
// webhook's delivery is not started beside its sequence: it goes back to
// the outbox, where the claim sends it once nothing else of its key is in
// flight.
func TestReplayOfASequencedDeliveryWaitsForItsSequence(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	now := store.Now()
	w := &models.Webhook{ID: uuid.NewString(), TenantID: "acme", Name: "ordered", WebhookType: models.WebhookGeneric,
		Enabled: true, Status: models.WebhookActive, BatchSize: 1, TimeoutSeconds: 10, Version: 0.1,
		OrderingKey: "webhook", OrderingOnExhausted: "skip",
		EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: "https://example.com/in", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	key := ""
	ids := make([]string, 2)
	for i := range ids {
		at := now.Add(time.Duration(i-60) * time.Second)
		ev := &models.Event{TenantID: "acme", ID: fmt.Sprintf("seq-%d", i), Type: "order.created", Timestamp: at, CreatedAt: at}
		del := models.Delivery{ID: uuid.Must(uuid.NewV7()).String(), TenantID: "acme", EventID: ev.ID, WebhookID: w.ID,
			EventType: ev.Type, Status: models.DeliveryPending, Trigger: models.TriggerScheduled, CreatedAt: at, UpdatedAt: at,
			SequenceKey: &key, SequenceAt: &at}
		ids[i] = del.ID
		if _, err := s.IngestEvents(ctx, []store.Ingestion{{Event: ev, Deliveries: []models.Delivery{del}}}); err != nil {
			t.Fatal(err)
		}
	}
	claimIDs := func() []string {
		ds, _, err := s.ClaimForStart(ctx, 10, 10, store.Now())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	if got := claimIDs(); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("claim %v, want the first", got)
	}
	attempted(t, s, w, ids[0], models.DeliveryFailed) // skipped: the second goes
	if got := claimIDs(); len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("claim %v, want the second", got)
	}
	fake := dispatchtest.New()
	d, _ := newDispatcher(s, fake)
	if _, err := d.Replay(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Starts()); n != 0 {
		t.Fatalf("the replay was started beside the delivery in flight (%d starts)", n)
	}
	if got := claimIDs(); len(got) != 0 {
		t.Fatalf("claimed %v while the second is in flight", got)
	}
	attempted(t, s, w, ids[1], models.DeliverySucceeded)
	if got := claimIDs(); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("claim %v, want the replayed one now", got)
	}
}
