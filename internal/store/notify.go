package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// When the api leaves the starts to the workers (no API_WORKER under
// OUTBOX_STARTER=auto, the default, or OUTBOX_STARTER=worker) the api
// processes commit deliveries to the outbox and the worker processes start
// them (docs/operations.md, "Running
// api and worker apart").
// A PostgreSQL notification on outboxChannel tells the workers' starters
// at once, instead of at their next poll of the outbox.
const outboxChannel = "webhookd_outbox"

// ErrNoNotifications is ListenOutbox's answer on SQLite, which has no
// LISTEN/NOTIFY: its starters find new rows at their poll.
var ErrNoNotifications = errors.New("store: outbox notifications need PostgreSQL")

// NotifyOutbox tells every process in ListenOutbox that the outbox has new
// rows. A no-op on SQLite. The notification needs no durability: its
// commit does not wait for the WAL to reach the disk.
func (s *Store) NotifyOutbox(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	return translate(s.db.WithContext(ctx).Exec("SELECT set_config('synchronous_commit', 'off', true), pg_notify(?, '')", outboxChannel).Error)
}

// Liveness of ListenOutbox's connection: a connection that died without a
// word (a failover, an idle connection dropped by the network) would
// otherwise keep it waiting for minutes.
// Tests shorten the ping's period (Store.listenPing).
const (
	listenConnectTimeout = 10 * time.Second
	listenPingEvery      = 30 * time.Second
	listenPingTimeout    = 10 * time.Second
)

// ListenOutbox calls notified once it listens (what was notified before is
// not kept: the caller looks at the outbox then) and at every NotifyOutbox
// of any process, until ctx ends (nil) or the connection fails (the error).
// It holds a connection of its own, outside the store's pool, and needs a
// session of its own: behind a pooler in transaction mode (PgBouncer's
// default) LISTEN hears nothing, and the starters fall back to their poll.
func (s *Store) ListenOutbox(ctx context.Context, notified func()) error {
	if s.listenURL == "" {
		return ErrNoNotifications
	}
	connectCtx, cancel := context.WithTimeout(ctx, listenConnectTimeout)
	conn, err := pgx.Connect(connectCtx, s.listenURL)
	cancel()
	if err != nil {
		return listenEnded(ctx, err)
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
		waitCtx, cancel := context.WithTimeout(ctx, cmp.Or(s.listenPing, listenPingEvery))
		_, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			notified()
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			// Quiet for a while: is the connection still there? (A
			// timed-out wait leaves it usable.)
			pingCtx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return listenEnded(ctx, err)
			}
		default:
			return listenEnded(ctx, err)
		}
	}
}

// listenEnded is nil when ctx ended, else err.
func listenEnded(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("store: listen: %w", err)
}
