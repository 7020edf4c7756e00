package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// notifiedOnce passes ListenOutbox through and closes listening at the
// first notification (the one that says it listens).
type notifiedOnce struct {
	*store.Store
	listening chan struct{}
	once      sync.Once
}

func (l *notifiedOnce) ListenOutbox(ctx context.Context, notified func()) error {
	return l.Store.ListenOutbox(ctx, func() {
		l.once.Do(func() { close(l.listening) })
		notified()
	})
}

// TestRingWakesAnotherProcessStarter: with the workers starting, an api
// process ingests and rings; the worker process's starter, whose poll is
// an hour away, starts the deliveries at once. Two stores on one database
// play the two processes.
func TestRingWakesAnotherProcessStarter(t *testing.T) {
	url := storetest.PostgresURL(t)
	apiStore, workerStore := storetest.OpenURL(t, url, slog.New(slog.DiscardHandler)), storetest.OpenURL(t, url, slog.New(slog.DiscardHandler))
	seedOutbox(t, apiStore, 0) // the webhook
	api, in := newDispatcher(apiStore, dispatchtest.New())
	fake := dispatchtest.New()
	st, _ := newStarter(workerStore, fake, dispatch.StarterOptions{Poll: time.Hour})
	l := &notifiedOnce{Store: workerStore, listening: make(chan struct{})}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(){func() { api.RingStarters(ctx, apiStore) }, func() { st.Run(ctx) }, func() { st.Listen(ctx, l) }} {
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	defer func() { cancel(); wg.Wait() }()
	select {
	case <-l.listening:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker's starter did not listen within 10 s")
	}
	// Let the pass that listening asked for end, so that each start below
	// follows its own ring.
	time.Sleep(300 * time.Millisecond)

	for i := range 3 {
		res, err := in.Ingest(ctx, event("acme", "evt-ring-"+string(rune('a'+i)), "order.created"))
		if err != nil {
			t.Fatal(err)
		}
		in.Wake([]ingest.Ingested{res})
		waitStarts(t, fake, i+1, 10*time.Second)
	}
}

// TestStarterListensAgainAfterAFailure: a listen that fails is tried again,
// and listening again makes the starter look at the outbox (rings sent
// meanwhile were lost).
func TestStarterListensAgainAfterAFailure(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	fake := dispatchtest.New()
	st, _ := newStarter(s, fake, dispatch.StarterOptions{Poll: time.Hour})
	release := make(chan struct{})
	var calls atomic.Int32
	l := listenFunc(func(ctx context.Context, notified func()) error {
		if calls.Add(1) == 1 {
			<-release
			return errors.New("connection reset")
		}
		notified()
		<-ctx.Done()
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(){func() { st.Run(ctx) }, func() { st.Listen(ctx, l) }} {
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	defer func() { cancel(); wg.Wait() }()

	time.Sleep(500 * time.Millisecond) // the starter's first pass, on an empty outbox
	seedOutbox(t, s, 2)                // committed by another process, no ring heard
	time.Sleep(300 * time.Millisecond)
	if n := len(fake.Starts()); n != 0 {
		t.Fatalf("%d starts before any ring: the test cannot tell a listen from a poll", n)
	}
	close(release)
	waitStarts(t, fake, 2, 10*time.Second)
	if n := calls.Load(); n != 2 {
		t.Fatalf("ListenOutbox called %d times, want 2 (the failed one and the one after)", n)
	}
}

type listenFunc func(ctx context.Context, notified func()) error

func (f listenFunc) ListenOutbox(ctx context.Context, notified func()) error { return f(ctx, notified) }

// waitStarts waits until r has made n starts.
func waitStarts(t *testing.T, r *dispatchtest.Runner, n int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(r.Starts()) >= n {
			return
		}
	}
	t.Fatalf("%d starts after %v, want %d", len(r.Starts()), within, n)
}

// TestBackstopStarterOnlyPolls: the api's backstop starter (an api that
// leaves the starts to the workers) is not woken by the api's own ingest, whose deliveries are the
// workers' to start eagerly (a starter that is no backstop is), and starts
// deliveries that have waited longer than its poll.
func TestBackstopStarterOnlyPolls(t *testing.T) {
	for _, backstop := range []bool{true, false} {
		t.Run(fmt.Sprintf("backstop=%v", backstop), func(t *testing.T) {
			s := storetest.Open(t, store.Postgres)
			seedOutbox(t, s, 0) // the webhook
			fake := dispatchtest.New()
			st, in := newStarter(s, fake, dispatch.StarterOptions{Poll: time.Hour, Backstop: backstop})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); st.Run(ctx) }()
			defer func() { cancel(); <-done }()
			res, err := in.Ingest(ctx, event("acme", "evt-backstop", "order.created"))
			if err != nil {
				t.Fatal(err)
			}
			in.Wake([]ingest.Ingested{res})
			if !backstop {
				waitStarts(t, fake, 1, 10*time.Second)
				return
			}
			time.Sleep(time.Second)
			if n := len(fake.Starts()); n != 0 {
				t.Fatalf("the backstop started %d deliveries on a wake-up, want none before its poll", n)
			}
		})
	}
	t.Run("late deliveries", func(t *testing.T) {
		s := storetest.Open(t, store.Postgres)
		seedOutbox(t, s, 3) // committed an hour ago, never started
		fake := dispatchtest.New()
		st, _ := newStarter(s, fake, dispatch.StarterOptions{Poll: 200 * time.Millisecond, Backstop: true})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); st.Run(ctx) }()
		defer func() { cancel(); <-done }()
		waitStarts(t, fake, 3, 10*time.Second)
	})
}
