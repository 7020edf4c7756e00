package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// With OUTBOX_STARTER=worker the api processes commit deliveries to the
// outbox and the worker processes start them (README, "Running apart").
// A PostgreSQL notification on outboxChannel tells the workers' starters
// at once, instead of at their next poll of the outbox.
const outboxChannel = "webhookd_outbox"

// ErrNoNotifications is ListenOutbox's answer on SQLite, which has no
// LISTEN/NOTIFY: its starters find new rows at their poll.
var ErrNoNotifications = errors.New("store: outbox notifications need PostgreSQL")

// NotifyOutbox tells every process in ListenOutbox that the outbox has new
// rows. A no-op on SQLite.
func (s *Store) NotifyOutbox(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	return translate(s.db.WithContext(ctx).Exec("SELECT pg_notify(?, '')", outboxChannel).Error)
}

// ListenOutbox calls notified once it listens (what was notified before is
// not kept: the caller looks at the outbox then) and at every NotifyOutbox
// of any process, until ctx ends (nil) or the connection fails (the error).
// It holds a connection of its own, outside the store's pool.
func (s *Store) ListenOutbox(ctx context.Context, notified func()) error {
	if s.listenURL == "" {
		return ErrNoNotifications
	}
	conn, err := pgx.Connect(ctx, s.listenURL)
	if err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+outboxChannel); err != nil {
		return listenEnded(ctx, err)
	}
	notified()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return listenEnded(ctx, err)
		}
		notified()
	}
}

// listenEnded is nil when ctx ended, else err.
func listenEnded(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("store: listen: %w", err)
}
