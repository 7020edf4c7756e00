package dispatch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestReplayWhoseStartFailsWakesTheStarter: a replay that goes back to the
// outbox because Temporal refused its start wakes this process's starter,
// which starts it as soon as Temporal answers rather than at its next poll.
func TestReplayWhoseStartFailsWakesTheStarter(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	w, ids := seedOutbox(t, s, 1)
	attempted(t, s, w, ids[0], models.DeliveryFailed)
	fake := dispatchtest.New()
	fake.FailStart = func(dispatch.Run) error { return errors.New("temporal is down") }
	d, _ := newDispatcher(s, fake)
	if dispatch.Woken(d) {
		t.Fatal("woken before the replay")
	}
	if _, err := d.Replay(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if !dispatch.Woken(d) {
		t.Fatal("the replay went back to the outbox without waking the starter")
	}
}
