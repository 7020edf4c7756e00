package activities_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/activities"
	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// another ingests one more delivery for the fixture's webhook.
func (f *fixture) another(t *testing.T) models.Delivery {
	t.Helper()
	now := f.event.CreatedAt
	ev := &models.Event{ID: "evt_" + uuid.NewString(), Type: f.event.Type, Data: json.RawMessage(`{"orderId":43}`),
		Timestamp: f.event.Timestamp, CreatedAt: now}
	d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: f.webhook.ID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
	if _, _, _, err := f.store.IngestEvent(t.Context(), ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) sendOf(t *testing.T, deliveryID string) attempt.Result {
	t.Helper()
	res, err := f.sender.Send(t.Context(), workflows.SendInput{DeliveryID: deliveryID, Attempt: 1, Trigger: models.TriggerScheduled})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// turnAwayAtGate sends deliveryID while others hold and wait for the
// webhook's gate (others ≥ maxConcurrency + 1): it is turned away.
func (f *fixture) turnAwayAtGate(t *testing.T, deliveryID string, others int) {
	t.Helper()
	exit := f.sender.HoldGate(f.webhook.ID, others)
	defer exit()
	if res := f.sendOf(t, deliveryID); res.Outcome != attempt.Limited || res.Wait != 0 {
		t.Fatalf("refused at the gate: %+v", res)
	}
}

// turnAwayAtShare sends deliveryID while a request of its tenant holds
// the tenant's one share (Shares of 2 slots, one tenant): it is turned
// away. The share is given back, without a request ending, before it
// returns.
func (f *fixture) turnAwayAtShare(t *testing.T, deliveryID string) {
	t.Helper()
	d, err := f.store.GetDelivery(t.Context(), deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	release, ok := f.sender.Shares.Take(d.TenantID)
	if !ok {
		t.Fatal("the first slot was refused")
	}
	defer release()
	if res := f.sendOf(t, deliveryID); res.Outcome != attempt.Limited || res.Wait != 0 {
		t.Fatalf("beyond the tenant's share: %+v", res)
	}
}

func (f *fixture) sendOK(t *testing.T, deliveryID string) {
	t.Helper()
	if res := f.sendOf(t, deliveryID); res.Outcome != attempt.Success {
		t.Fatalf("%+v", res)
	}
}

// expectWoken fails unless the next wake-up is of want, within a while.
func expectWoken(t *testing.T, woken wakeLog, want string) {
	t.Helper()
	select {
	case id := <-woken:
		if id != want {
			t.Fatalf("woke %q, want %q", id, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q was not woken", want)
	}
}

// expectNoWakeUp fails on a wake-up so far (the Sender wakes in the
// call that makes room, and wakeLog takes it at once).
func expectNoWakeUp(t *testing.T, woken wakeLog) {
	t.Helper()
	select {
	case id := <-woken:
		t.Fatalf("woke %q", id)
	default:
	}
}

// TestSendWakesWhomTheGateTurnedAway: a delivery refused at the webhook's
// gate (it never asked the limiter, so it has no place in line for a
// freed slot to wake) is woken when the next request of the webhook
// leaves the gate; one that got through since is not.
func TestSendWakesWhomTheGateTurnedAway(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
	woken := make(wakeLog, 8)
	f.sender.Waker = woken
	turnedAway, passing := f.delivery.ID, f.another(t)

	f.turnAwayAtGate(t, turnedAway, 2)
	expectNoWakeUp(t, woken)
	f.sendOK(t, passing.ID)
	expectWoken(t, woken, turnedAway)

	// Turned away, then through the gate on its own poll: nobody to wake.
	f.turnAwayAtGate(t, turnedAway, 2)
	f.sendOK(t, turnedAway)
	expectNoWakeUp(t, woken)
}

// TestSendWakesWhomTheTenantShareTurnedAway: a delivery refused because
// its tenant holds its share of the worker's slots is woken when one of
// the tenant's requests ends, not when a send that held the share only
// to be refused at the webhook's gate gives it back.
func TestSendWakesWhomTheTenantShareTurnedAway(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	f := newFixture(t, rc.URL, nil)
	woken := make(wakeLog, 8)
	f.sender.Waker = woken
	f.sender.Shares = &activities.TenantShares{Slots: 2} // one tenant alone: a share of 1
	turnedAway, passing := f.delivery.ID, f.another(t)
	f.turnAwayAtShare(t, turnedAway)
	expectNoWakeUp(t, woken)
	f.turnAwayAtGate(t, passing.ID, 11) // past the default maxConcurrency
	expectNoWakeUp(t, woken)
	f.sendOK(t, passing.ID)
	expectWoken(t, woken, turnedAway)
	expectNoWakeUp(t, woken)
}

// TestSendTurnedAwayAtTheShareLeavesTheGatesLine: a delivery turned away
// at the webhook's gate, then at its tenant's share, waits in the share's
// line only: the gate's room does not wake it as well (a second wake-up
// would end its next wait at once, for a refusal).
func TestSendTurnedAwayAtTheShareLeavesTheGatesLine(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.MaxConcurrency = 1 })
	woken := make(wakeLog, 8)
	f.sender.Waker = woken
	f.sender.Shares = &activities.TenantShares{Slots: 2}
	turnedAway, passing := f.delivery.ID, f.another(t)
	f.turnAwayAtGate(t, turnedAway, 2)
	f.turnAwayAtShare(t, turnedAway)
	// passing leaves the gate with room behind it and is sent: its
	// share's end wakes the delivery, once, from the share's line.
	f.sendOK(t, passing.ID)
	expectWoken(t, woken, turnedAway)
	expectNoWakeUp(t, woken)
}
