package dispatch

import (
	"log/slog"
	"testing"
	"time"
)

// TestTheStarterHearsItsDispatcher: what wakes the dispatcher (ingest, a
// resumed webhook, a replay, all built before the starter) wakes the
// starter NewStarter makes later.
func TestTheStarterHearsItsDispatcher(t *testing.T) {
	d := New(nil, nil, nil, slog.New(slog.DiscardHandler))
	d.Wake() // before the starter exists
	at := time.Now().Add(time.Minute)
	d.WakeAt(at)
	st := d.NewStarter(nil, StarterOptions{})
	select {
	case <-st.wake:
	default:
		t.Fatal("the starter did not hear the dispatcher's wake-up")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.at.Equal(at) {
		t.Fatalf("the starter looks at %v, want the batch close %v", st.at, at)
	}
}
