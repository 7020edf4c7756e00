package ingest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/models"
)

// slowStore answers the matcher from a list it can change, and can hold a
// load until told to go on.
type slowStore struct {
	hooks   atomic.Pointer[[]models.Webhook]
	version atomic.Int64
	hold    chan struct{} // a load waits for it when set
	loading chan struct{}
}

func (s *slowStore) MatchableWebhooks(context.Context, string) ([]models.Webhook, error) {
	snapshot := *s.hooks.Load()
	if s.hold != nil {
		s.loading <- struct{}{}
		<-s.hold
	}
	return snapshot, nil
}

func (s *slowStore) MatcherVersion(context.Context, string) (int64, error) {
	return s.version.Load(), nil
}

// TestInvalidateDuringAReloadIsNotLost: a webhook created through this
// process while a reload was reading the old list is seen by the next event.
func TestInvalidateDuringAReloadIsNotLost(t *testing.T) {
	st := &slowStore{hold: make(chan struct{}), loading: make(chan struct{})}
	st.hooks.Store(&[]models.Webhook{})
	m := NewMatcher(st, time.Hour)
	ev, _ := filter.ParseEvent("order.created", "", nil, nil)

	done := make(chan struct{})
	go func() { defer close(done); _, _ = m.Match(context.Background(), "acme", ev) }()
	<-st.loading // the reload has read the old, empty list
	st.hooks.Store(&[]models.Webhook{{ID: "w1", TenantID: "acme", EventFilters: []models.EventFilter{{EventType: "*"}}}})
	st.version.Add(1)
	m.Invalidate("acme")
	st.hold <- struct{}{}
	<-done

	st.hold = nil // loads go straight through from now on
	got, err := m.Match(context.Background(), "acme", ev)
	if err != nil || len(got) != 1 {
		t.Fatalf("after an invalidation during a reload, the next event matched %d webhooks (%v), want 1", len(got), err)
	}
}
