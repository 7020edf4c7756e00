package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/webhookd/webhookd/internal/store"
)

// When the api leaves the starts to the workers (no API_WORKER under
// OUTBOX_STARTER=auto, the default, or OUTBOX_STARTER=worker) the
// processes that commit deliveries (api) are not those that start them
// (worker), which run their workflows' first
// tasks in the same process (eager start). The api's dispatcher rings
// (RingStarters) on every wake-up; each worker's starter listens (Listen).
// Both are best effort: a starter that missed a ring finds the rows at its
// poll.

type outboxNotifier interface {
	NotifyOutbox(ctx context.Context) error
}

type outboxListener interface {
	ListenOutbox(ctx context.Context, notified func()) error
}

// ringGap is the least time between two rings: wake-ups within it make
// one ring, so a burst of posts costs the database a notification per
// ringGap, not one per post, for at most ringGap of delay.
const ringGap = 5 * time.Millisecond

// Backoffs of Listen after its connection failed, how long it must have
// listened for the next failure to count as a new one, and how often a
// failing ring is logged and how long one may take.
const (
	minListenBackoff = time.Second
	maxListenBackoff = 30 * time.Second
	ringLogEvery     = 30 * time.Second
	ringTimeout      = 2 * time.Second
)

// RingStarters tells the starters of other processes, through n, about
// every Wake and WakeAt of d, until ctx ends.
func (d *Dispatcher) RingStarters(ctx context.Context, n outboxNotifier) {
	var logged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeup.others:
		}
		ringCtx, cancel := context.WithTimeout(ctx, ringTimeout)
		err := n.NotifyOutbox(ringCtx)
		cancel()
		if err != nil && ctx.Err() == nil && time.Since(logged) >= ringLogEvery {
			logged = time.Now()
			d.log.Warn("waking the workers' outbox starters failed; they start new deliveries at their next poll", "error", err)
		}
		sleep(ctx, ringGap)
	}
}

// Listen wakes s whenever another process rings (RingStarters), until ctx
// ends, listening again when the connection fails: at once after a long
// spell of listening (a database restart), with a growing backoff while
// connections fail or drop soon after they start. On SQLite it returns at
// once: s finds new rows at its poll.
func (s *Starter) Listen(ctx context.Context, l outboxListener) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		var since time.Time // when it began to listen
		err := l.ListenOutbox(ctx, func() {
			if since.IsZero() {
				since = time.Now()
			}
			s.Wake()
		})
		switch {
		case errors.Is(err, store.ErrNoNotifications):
			return
		case err == nil:
			continue // ctx ended
		case !since.IsZero() && time.Since(since) >= maxListenBackoff:
			backoff = 0
		default:
			backoff = min(max(2*backoff, minListenBackoff), maxListenBackoff)
		}
		s.log("listening for new deliveries failed; starting them at each poll until it is back", "error", err, "retry_in", backoff)
		sleep(ctx, backoff)
	}
}
