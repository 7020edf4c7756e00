package activities_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/activities"
	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
)

// TestTenantSharesKeepAShareFree: a lone tenant holds at most half the
// slots; a tenant that shows up finds room at once, and then each holds at
// most slots ÷ (tenants + 1); released slots are given back.
func TestTenantSharesKeepAShareFree(t *testing.T) {
	s := &activities.TenantShares{Slots: 6}
	var noisy []func()
	for {
		release, ok := s.Take("noisy")
		if !ok {
			break
		}
		noisy = append(noisy, release)
	}
	if len(noisy) != 3 {
		t.Fatalf("a lone tenant took %d of 6 slots, want 3", len(noisy))
	}
	quiet1, ok1 := s.Take("quiet")
	quiet2, ok2 := s.Take("quiet")
	_, ok3 := s.Take("quiet")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("beside a tenant holding its share, a new one took %v %v %v, want 2 slots (6 ÷ 3)", ok1, ok2, ok3)
	}
	noisy[0]()
	noisy[0]() // a second release of the same slot gives nothing back
	if _, ok := s.Take("noisy"); ok || s.InFlight("noisy") != 2 {
		t.Fatalf("noisy holds %d with its share 2 and took another", s.InFlight("noisy"))
	}
	quiet1()
	quiet2()
	noisy[1]()
	noisy[2]()
	if s.InFlight("noisy") != 0 || s.InFlight("quiet") != 0 {
		t.Fatalf("slots left after every release: noisy %d quiet %d", s.InFlight("noisy"), s.InFlight("quiet"))
	}
	if _, ok := s.Take("noisy"); !ok {
		t.Fatal("a tenant found no slot on an idle worker")
	}
	var none *activities.TenantShares
	if _, ok := none.Take("any"); !ok {
		t.Fatal("no shares refused a send")
	}
}

// TestSendBeyondTheTenantShareWaits: with its tenant's share of the
// worker's slots held by requests in flight, an attempt sends nothing and
// waits as for a concurrency slot; a test send is not counted.
func TestSendBeyondTheTenantShareWaits(t *testing.T) {
	var posts atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, rc.URL, nil)
	f.sender.Shares = &activities.TenantShares{Slots: 2}
	d, err := f.store.GetDelivery(t.Context(), f.delivery.ID)
	if err != nil {
		t.Fatal(err)
	}
	release, ok := f.sender.Shares.Take(d.TenantID) // a slow request of the same tenant
	if !ok {
		t.Fatal("the first slot was refused")
	}
	res := f.send(t, 1)
	if res.Outcome != attempt.Limited || res.WaitingFor != models.WaitingForConcurrency || posts.Load() != 0 {
		t.Fatalf("beyond the tenant's share: %+v, %d posts", res, posts.Load())
	}
	if d, _ := f.store.GetDelivery(t.Context(), f.delivery.ID); d.WaitingFor != models.WaitingForConcurrency {
		t.Fatalf("refused its tenant's share, the delivery shows waitingFor %q", d.WaitingFor)
	}
	release()
	if res := f.send(t, 1); res.Outcome != attempt.Success || posts.Load() != 1 {
		t.Fatalf("within the share: %+v, %d posts", res, posts.Load())
	}
	if n := f.sender.Shares.InFlight(d.TenantID); n != 0 {
		t.Fatalf("%d slots held after the send", n)
	}
}

// TestSendWhileTheWebhookIsAskedForIsRefused: while maxConcurrency
// requests of the same worker hold or wait for the webhook's gate to the
// database, an attempt does not queue behind them (holding its worker
// slots): it sends nothing and waits as for a concurrency slot. Behind
// fewer, it waits its turn.
func TestSendWhileTheWebhookIsAskedForIsRefused(t *testing.T) {
	var posts atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 2 })
	exit := f.sender.HoldGate(f.webhook.ID, 3)
	res := f.send(t, 1)
	if res.Outcome != attempt.Limited || res.WaitingFor != models.WaitingForConcurrency || posts.Load() != 0 {
		t.Fatalf("while the webhook's slot is asked for: %+v, %d posts", res, posts.Load())
	}
	if d, _ := f.store.GetDelivery(t.Context(), f.delivery.ID); d.WaitingFor != models.WaitingForConcurrency {
		t.Fatalf("refused at the gate, the delivery shows waitingFor %q", d.WaitingFor)
	}
	exit()
	exit = f.sender.HoldGate(f.webhook.ID, 1)
	done := make(chan attempt.Result)
	go func() { done <- f.send(t, 1) }()
	time.Sleep(100 * time.Millisecond)
	if posts.Load() != 0 {
		t.Fatal("sent while another request held the gate")
	}
	exit()
	if res := <-done; res.Outcome != attempt.Success || posts.Load() != 1 {
		t.Fatalf("behind one request: %+v, %d posts", res, posts.Load())
	}
	if d, _ := f.store.GetDelivery(t.Context(), f.delivery.ID); d.WaitingFor != "" {
		t.Fatalf("sent, the delivery still shows waitingFor %q", d.WaitingFor)
	}
}
