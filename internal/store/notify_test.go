package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// A ring from one process (store) reaches the listener of another on the
// same database, and only that database, also after quiet spells in which
// the listener pinged its connection.
func TestOutboxNotificationsReachListenersOfTheSameDatabase(t *testing.T) {
	url := storetest.PostgresURL(t)
	listener, ringer := storetest.OpenURL(t, url, discard()), storetest.OpenURL(t, url, discard())
	listener.SetListenPing(100 * time.Millisecond)
	elsewhere := storetest.Open(t, store.Postgres)

	ctx, cancel := context.WithCancel(context.Background())
	notified := make(chan struct{}, 16)
	ended := make(chan error, 1)
	go func() { ended <- listener.ListenOutbox(ctx, func() { notified <- struct{}{} }) }()
	expect := func(what string) {
		t.Helper()
		select {
		case <-notified:
		case err := <-ended:
			t.Fatalf("%s: ListenOutbox returned %v", what, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not notified within 10 s", what)
		}
	}
	expect("listening") // the first call: the caller looks at the outbox then
	// Quiet for several pings: the connection is checked, and kept.
	time.Sleep(500 * time.Millisecond)

	if err := elsewhere.NotifyOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ringer.NotifyOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	expect("ring")
	// The other database's ring went before this one's: had it come
	// through, it would be waiting here.
	select {
	case <-notified:
		t.Fatal("notified twice for one ring: another database's ring came through")
	case <-time.After(200 * time.Millisecond):
	}

	cancel()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("ListenOutbox after its context ended: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenOutbox did not return after its context ended")
	}
}

func TestSQLiteHasNoOutboxNotifications(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	if err := s.NotifyOutbox(context.Background()); err != nil {
		t.Fatalf("NotifyOutbox on SQLite: %v, want nil (a no-op)", err)
	}
	called := false
	err := s.ListenOutbox(context.Background(), func() { called = true })
	if !errors.Is(err, store.ErrNoNotifications) || called {
		t.Fatalf("ListenOutbox on SQLite: %v (called %v), want ErrNoNotifications without a call", err, called)
	}
}
