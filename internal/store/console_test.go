package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestConsoleRevocations: a signed-out console session stays refused, for
// every replica reading the same database, until it would have expired;
// retention then forgets it.
func TestConsoleRevocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := store.Now()
		if revoked, err := s.ConsoleSessionRevoked(ctx, "session-a"); err != nil || revoked {
			t.Fatalf("before sign-out: %v %v", revoked, err)
		}
		if err := s.RevokeConsoleSession(ctx, "session-a", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Twice (two tabs sign out) is fine.
		if err := s.RevokeConsoleSession(ctx, "session-a", now.Add(time.Hour)); err != nil {
			t.Fatalf("second sign-out: %v", err)
		}
		if err := s.RevokeConsoleSession(ctx, "session-b", now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"session-a": true, "session-b": true, "session-c": false} {
			if revoked, err := s.ConsoleSessionRevoked(ctx, id); err != nil || revoked != want {
				t.Errorf("%s: revoked %v (%v), want %v", id, revoked, err, want)
			}
		}
		r, err := s.PurgeBefore(ctx, now.Add(-7*24*time.Hour))
		if err != nil || r.ConsoleRevocations != 1 {
			t.Fatalf("retention: %+v %v", r, err)
		}
		if revoked, _ := s.ConsoleSessionRevoked(ctx, "session-a"); !revoked {
			t.Error("retention forgot a sign-out whose session has not expired")
		}
		if revoked, _ := s.ConsoleSessionRevoked(ctx, "session-b"); revoked {
			t.Error("retention kept a sign-out whose session has expired")
		}
	})
}
