package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// Per-webhook limits (docs/architecture.md, "Per-webhook limits") are kept in the
// database, never in one process's memory, so that every api and worker
// process obeys them: a limiter row per webhook (the next free rate slot
// and the adaptive rate) and a lease per request in flight.

// DefaultMaxConcurrency is the requests in flight a webhook gets when its
// webhookConfig.maxConcurrency is not set.
const DefaultMaxConcurrency = 10

// EffectiveMaxConcurrency is the maxConcurrency in force for a webhook's
// setting n (unset, 0: the default).
func EffectiveMaxConcurrency(n int) int { return cmp.Or(max(n, 0), DefaultMaxConcurrency) }

// HolderDelivery is the delivery a slot holder is of: holders are named
// "delivery/attempt/run" (attemptPrefix); one without a "/" (as in some
// tests) is its own.
func HolderDelivery(holder string) string {
	deliveryID, _, _ := strings.Cut(holder, "/")
	return deliveryID
}

// Adaptive slow-down (AIMD): a throttling answer halves the webhook's rate
// (at most once a second), never below MinAdaptiveRate; each success adds
// a twentieth of the rate it came down from, and once back there the
// adaptive limit is lifted.
const (
	MinAdaptiveRate = 0.1 // requests per second: one every 10 s
	aimdSteps       = 20
	// decreaseHoldoff: the answers to requests sent at the old rate
	// arrive together; one halving per second answers them all (as TCP
	// halves once per round trip, not once per lost packet).
	decreaseHoldoff = time.Second
)

// SlotRequest asks for one request's slot.
type SlotRequest struct {
	DeliveryID, WebhookID string
	// Holder names the request (delivery, attempt and run): asking again
	// for the same holder (a retried activity, a wait that ended) finds its
	// lease, its reserved rate slot or its place among the waiters. A
	// holder named delivery/attempt/run also takes over the reserved rate
	// slot of the same attempt under another run (takeOver), and is not
	// queued behind that run's place.
	Holder         string
	MaxConcurrency int
	RateLimit      float64
	// Lease is how long the slot is held if it is never released (the
	// sender was killed): the webhook's timeout and a margin.
	Lease time.Duration
}

// Slot is the limiter's answer.
type Slot struct {
	Granted bool
	// WaitingFor is why not (rateLimit or concurrency).
	WaitingFor models.WaitingFor
	// Wait is when the holder's rate slot comes (rateLimit), or when to ask
	// again for a concurrency slot (the nearer the waiter's turn, the
	// sooner).
	Wait time.Duration
	// Interval is the spacing of the rate in force (rateLimit only).
	Interval time.Duration
}

type limiterRow struct {
	WebhookID       string
	Tat, SentTat    int64
	Rate, Peak      float64
	IntervalUs      int64
	LastGrant       int64
	Throttled       int64
	DecreasedAt     int64
	reservedStartAt int64 // the holder's reserved slot, 0 without one
	takenOver       bool  // reservedStartAt was another holder's (takeOver)
}

// AcquireSlot grants a request to a webhook a slot, or says what it must
// wait for, in one short transaction serialised on the webhook's limiter
// row. On a grant the delivery is marked delivering; on a refusal its
// waiting_for says why.
//
// Every attempt of the webhook waits for that row, so the transaction
// holds it for as few round trips as it can: the lock, one query for
// everything else it reads (limiterCounts), and one for everything it
// writes (writes), then COMMIT. The reads cannot ride in the locking
// statement: on PostgreSQL a statement reads from a snapshot taken when
// it starts, before it waited for the lock, and would miss the lease the
// previous holder of the lock took.
func (s *Store) AcquireSlot(ctx context.Context, r SlotRequest) (Slot, error) {
	var out Slot
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lockLimiter(tx, r.WebhookID)
		if err != nil {
			return err
		}
		now := Now().UnixMicro()
		c, err := readLimiterCounts(tx, r, now, s.waiterPatience)
		if err != nil {
			return err
		}
		if err := dropExpired(tx, r.WebhookID, c, now); err != nil {
			return err
		}
		row.reservedStartAt = c.reservedStartAt
		var w writes
		var q place
		if c.mine == 0 {
			q = c.place
			limit := int64(EffectiveMaxConcurrency(r.MaxConcurrency))
			if behind := c.held + q.ahead - limit; behind >= 0 {
				// The free slots, if any, belong to older waiters.
				out = Slot{WaitingFor: models.WaitingForConcurrency, Wait: concurrencyPoll(r.Holder, behind, row.IntervalUs)}
				return s.wait(tx, &w, r, q, c, out, now)
			}
		}
		if rate := effectiveRate(r.RateLimit, row.Rate); c.mine == 0 && rate > 0 {
			takeOver(&w, &row, r, c)
			recheck := exactWait
			if adaptiveInForce(r.RateLimit, row.Rate) {
				recheck = rateRecheck(rate, climbTarget(r.RateLimit, row.Peak))
			}
			if out = takeRateSlot(&w, &row, r.Holder, rate, now, recheck); !out.Granted {
				return s.wait(tx, &w, r, q, c, out, now)
			}
		}
		out = Slot{Granted: true}
		if q.queued {
			w.add("DELETE FROM webhook_waiters WHERE webhook_id = ? AND holder = ?", r.WebhookID, r.Holder)
		}
		grant(&w, r, row, now, c.mine > 0)
		return w.exec(tx, s.dialect)
	})
	return out, translate(err)
}

// limiterCounts is what AcquireSlot reads besides the limiter row.
type limiterCounts struct {
	held, mine      int64 // live leases of the webhook, and the holder's
	place                 // the holder's place among the waiters
	reservedStartAt int64 // the holder's reserved rate slot, 0 without one
	// Rows past their time, dropped before anything is written: leases
	// of killed senders, waiters that did not come back, reservations
	// older than reservationLife.
	expiredLeases, expiredWaiters, expiredReservations int64
	// Live reservations of the holder's attempt under other runs
	// (takeOver), and the earliest one's slot.
	otherReservations, otherStartAt int64
}

// A delivery has one workflow, with at most one open run, which asks for
// one attempt's slot at a time. The same attempt under another run is a
// run that has ended: held when its webhook was paused (the run started
// at the resume numbers on from the attempts recorded, so it asks for the
// same attempt), ended by a replay or restarted by the reconciler. Its
// reserved rate slot is taken over by the run asking (takeOver), and its
// place among the waiters does not count ahead of the run asking. The
// place itself is left to expire: an ended run's local activity may still
// be polling (the run is part of the holder for that reason), and two
// runs deleting each other's place would send both to the back of the
// line.
//
// sameAttempt matches the holders of the request's delivery and attempt
// by their prefix (substr, not LIKE: a delivery id's "_" is no wildcard,
// and SQLite's LIKE ignores case); its arguments are the prefix's length
// and the prefix. otherRunOfAttempt is the same test with named
// arguments, for limiterCountsSQL, and false when the holder names no run.
const (
	sameAttempt       = "substr(holder, 1, CAST(? AS integer)) = ?"
	otherRunOfAttempt = "(holder <> @holder AND @plen > 0 AND substr(holder, 1, CAST(@plen AS integer)) = @prefix)"
)

// attemptPrefix is "delivery/attempt/", which begins the holders of the
// request's attempt under every run ("": the holder names no run, or is
// not named after its delivery, as in some tests, and shares nothing).
func attemptPrefix(r SlotRequest) string {
	rest, ok := strings.CutPrefix(r.Holder, r.DeliveryID+"/")
	i := strings.IndexByte(rest, '/')
	if r.DeliveryID == "" || !ok || i < 0 {
		return ""
	}
	return r.Holder[:len(r.Holder)-len(rest)+i+1]
}

// takeOver gives the holder the earliest rate slot reserved for its
// attempt by another run when it has none of its own, and drops the other
// runs' reservations. Without it a delivery started again when its
// webhook resumed reserved a new slot behind the one its ended run still
// held, for an hour (reservationLife): every resumed delivery waited
// behind phantoms.
//
// The slot is reused, not given back: tat (the next free slot) stays
// where it is. tat is one pointer, not a list of free slots: moving it
// back past a dropped slot would hand out again the slots reserved after
// it. The slot taken over keeps the rate: it was reserved for one request
// of this attempt and serves one; one whose time has passed is granted
// only as a late waiter is, spaced by sent_tat. Other reservations of the
// attempt (rare: an ended run that asked once more) are dropped,
// leaving a gap in the webhook's slots: an idle moment, never a request
// too many.
func takeOver(w *writes, row *limiterRow, r SlotRequest, c limiterCounts) {
	if c.otherReservations == 0 {
		return
	}
	prefix := attemptPrefix(r)
	w.add("DELETE FROM webhook_reservations WHERE webhook_id = ? AND holder <> ? AND "+sameAttempt,
		r.WebhookID, r.Holder, len(prefix), prefix)
	if row.reservedStartAt == 0 {
		row.reservedStartAt, row.takenOver = c.otherStartAt, true
	}
}

// reservationLife: reservations of requests that never came back are
// dropped after an hour (a cancelled delivery's at once:
// DropRateReservations).
const reservationLife = time.Hour

// DropRateReservations gives back the rate slots reserved for requests
// that will never use them: those of delivery deliveryID, cancelled while
// it waited, or with deliveryID "" every request of the webhook, which is
// being disabled or deleted. The slots are one pointer (tat), not a list,
// so it moves back only when no other request holds a reservation, and
// then to where the requests actually sent leave off (sent_tat), or now.
// Without it, a webhook disabled with many requests waiting for its rate
// and enabled again sent nothing until their slots had gone by (a
// thousand waiters at 1/s: 17 minutes). Dropping a slot never lets a
// request too many through: a grant also keeps requests sent spaced by
// sent_tat; a request that still waits takes a new slot when it asks.
func (s *Store) DropRateReservations(ctx context.Context, webhookID, deliveryID string) error {
	prefix := "" // every holder
	if deliveryID != "" {
		prefix = deliveryID + "/" // a delivery's holders begin "delivery/"
	}
	mine := "webhook_id = ? AND " + sameAttempt
	var n int64
	// Most cancelled deliveries never waited for a rate slot: one read,
	// no lock.
	if err := s.db.WithContext(ctx).Raw("SELECT count(*) FROM webhook_reservations WHERE "+mine,
		webhookID, len(prefix), prefix).Scan(&n).Error; err != nil || n == 0 {
		return translate(err)
	}
	return translate(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := s.lockLimiter(tx, webhookID); err != nil {
			return err
		}
		return dropReservations(tx, webhookID, prefix, Now().UnixMicro())
	}))
}

// dropReservations deletes the webhook's reservations of the holders
// beginning with prefix ("": all) and moves tat back as
// DropRateReservations says, inside a transaction that holds the
// limiter row.
func dropReservations(tx *gorm.DB, webhookID, prefix string, now int64) error {
	if err := tx.Exec("DELETE FROM webhook_reservations WHERE webhook_id = ? AND "+sameAttempt,
		webhookID, len(prefix), prefix).Error; err != nil {
		return err
	}
	const floor = "(CASE WHEN sent_tat > @now THEN sent_tat ELSE @now END)"
	return tx.Exec("UPDATE webhook_limiters SET tat = "+floor+" WHERE webhook_id = @webhook AND tat > "+floor+
		" AND NOT EXISTS (SELECT 1 FROM webhook_reservations WHERE webhook_id = @webhook AND start_at >= @stale)",
		sql.Named("now", now), sql.Named("webhook", webhookID), sql.Named("stale", now-reservationLife.Microseconds())).Error
}

// leaveLine deletes a cancelled delivery's places among its webhook's
// concurrency waiters: left in line, the oldest would take a freed slot's
// wake-up (which finds no run) until it expired.
func (s *Store) leaveLine(ctx context.Context, webhookID, deliveryID string) error {
	prefix := deliveryID + "/" // a delivery's holders begin "delivery/"
	return s.db.WithContext(ctx).Exec("DELETE FROM webhook_waiters WHERE webhook_id = ? AND "+sameAttempt,
		webhookID, len(prefix), prefix).Error
}

// limiterCountsSQL reads, in one statement, the webhook's leases, its
// waiters and the holder's place among them, the holder's rate slot, and
// the rows of its attempt under other runs (takeOver).
// Concurrency waiters are served oldest first: a refused request keeps a
// row in webhook_waiters (its place, from when it was first refused), and
// a request is granted only while the requests in flight and the waiters
// ahead of it leave a slot free. Ahead counts the live waiters queued
// before the holder (before now for a newcomer), other than its attempt
// under another run, that have waited longer than the patience and are not late (expires_at
// is their poll's due time plus waiterMargin): the others compete for
// free slots.
const limiterCountsSQL = `SELECT l.held, l.mine, l.expired, q.queued,
	(SELECT count(*) FROM webhook_waiters o WHERE o.webhook_id = @webhook AND o.expires_at >= @punctual
		AND o.holder <> @holder AND NOT ` + otherRunOfAttempt + ` AND o.queued_at <= @patient
		AND (o.queued_at < q.since OR (o.queued_at = q.since AND o.holder < @holder))),
	q.expired, r.start_at, r.expired, r.others, r.other_start_at
FROM (SELECT coalesce(sum(CASE WHEN expires_at >= @now THEN 1 ELSE 0 END), 0) AS held,
		coalesce(sum(CASE WHEN expires_at >= @now AND holder = @holder THEN 1 ELSE 0 END), 0) AS mine,
		coalesce(sum(CASE WHEN expires_at < @now THEN 1 ELSE 0 END), 0) AS expired
	FROM webhook_leases WHERE webhook_id = @webhook) l,
	(SELECT queued, CASE WHEN queued > 0 THEN queued ELSE @now END AS since, expired
	FROM (SELECT coalesce(max(CASE WHEN holder = @holder AND expires_at >= @now THEN queued_at ELSE 0 END), 0) AS queued,
			coalesce(sum(CASE WHEN expires_at < @now THEN 1 ELSE 0 END), 0) AS expired
		FROM webhook_waiters WHERE webhook_id = @webhook) w) q,
	(SELECT coalesce(max(CASE WHEN holder = @holder AND start_at >= @stale THEN start_at ELSE 0 END), 0) AS start_at,
		coalesce(sum(CASE WHEN start_at < @stale THEN 1 ELSE 0 END), 0) AS expired,
		coalesce(sum(CASE WHEN start_at >= @stale AND ` + otherRunOfAttempt + ` THEN 1 ELSE 0 END), 0) AS others,
		coalesce(min(CASE WHEN start_at >= @stale AND ` + otherRunOfAttempt + ` THEN start_at END), 0) AS other_start_at
	FROM webhook_reservations WHERE webhook_id = @webhook) r`

func readLimiterCounts(tx *gorm.DB, r SlotRequest, now int64, patience time.Duration) (limiterCounts, error) {
	var c limiterCounts
	var queuedAt int64
	prefix := attemptPrefix(r)
	err := tx.Raw(limiterCountsSQL,
		sql.Named("webhook", r.WebhookID), sql.Named("holder", r.Holder), sql.Named("now", now),
		sql.Named("punctual", now+(waiterMargin-lateGrace).Microseconds()),
		sql.Named("patient", now-patience.Microseconds()),
		sql.Named("stale", now-reservationLife.Microseconds()),
		sql.Named("prefix", prefix), sql.Named("plen", len(prefix)),
	).Row().Scan(&c.held, &c.mine, &c.expiredLeases, &queuedAt, &c.ahead, &c.expiredWaiters, &c.reservedStartAt, &c.expiredReservations,
		&c.otherReservations, &c.otherStartAt)
	c.queued = queuedAt > 0
	return c, err
}

// dropExpired deletes the leases and reservations past their time (the
// waiters are dropped by wait, before it writes a waiter), each only when
// limiterCounts found some: rare, and done on its own, before the writes,
// which must not touch a row twice.
func dropExpired(tx *gorm.DB, webhookID string, c limiterCounts, now int64) error {
	if c.expiredLeases > 0 {
		if err := tx.Exec("DELETE FROM webhook_leases WHERE webhook_id = ? AND expires_at < ?", webhookID, now).Error; err != nil {
			return err
		}
	}
	if c.expiredReservations > 0 {
		return tx.Exec("DELETE FROM webhook_reservations WHERE webhook_id = ? AND start_at < ?", webhookID, now-reservationLife.Microseconds()).Error
	}
	return nil
}

// A request polls for a concurrency slot (as well as being woken when one
// frees, ReleaseSlot: a wake-up can be lost): the nearer its turn, the
// sooner, from half a second to
// maxConcurrencyPoll. Within DefaultWaiterPatience, waiters compete for
// free slots (a slot never idles for a waiter that has not come back yet,
// which keeps a busy but fast webhook at full speed); past it, nobody new
// overtakes. A waiter more than lateGrace late (a busy worker) gives way:
// it keeps its place, but a free slot does not stay idle for it.
// waiterMargin after its poll was due, a waiter that did not come back
// (its delivery was cancelled) loses its place.
const (
	DefaultWaiterPatience = 2 * time.Second
	minConcurrencyPoll    = 500 * time.Millisecond
	maxConcurrencyPoll    = 30 * time.Second
	lateGrace             = 5 * time.Second
	waiterMargin          = 30 * time.Second
)

// place is a request's place in its webhook's queue of waiters.
type place struct {
	queued bool  // it has a row (it waited before)
	ahead  int64 // live waiters owed a slot before it
}

// waitableStatuses are those of a delivery that can wait for its webhook's
// limits: only these are marked waiting, and counted as waiting.
var waitableStatuses = []models.DeliveryStatus{models.DeliveryPending, models.DeliveryDelivering, models.DeliveryAwaitingRetry}

// finishedDelivery is true of a request whose delivery has a row outside
// waitableStatuses (arguments: the delivery id, waitableStatuses). A
// holder with no delivery row, as in tests, is not finished.
const finishedDelivery = "EXISTS (SELECT 1 FROM deliveries WHERE id = ? AND status NOT IN ?)"

// wait records a refusal: the delivery's waiting_for, and for a
// concurrency wait (or a waiter already queued) its place, kept until its
// next poll and a margin; a concurrency waiter's woken mark is cleared
// (ReleaseSlot may wake it again). Waiters gone for longer are dropped
// first. Only an open delivery is marked: a refusal that lands after its
// delivery finished (cancelled, say) must not show it waiting, nor take
// or keep a place in line.
func (s *Store) wait(tx *gorm.DB, w *writes, r SlotRequest, q place, c limiterCounts, out Slot, now int64) error {
	if out.WaitingFor == models.WaitingForConcurrency || q.queued {
		if c.expiredWaiters > 0 {
			if err := tx.Exec("DELETE FROM webhook_waiters WHERE webhook_id = ? AND expires_at < ?", r.WebhookID, now).Error; err != nil {
				return err
			}
		}
		var wokenAt int64 // a concurrency waiter asked: it may be woken again
		if out.WaitingFor != models.WaitingForConcurrency {
			wokenAt = now // it asks at its rate slot's time (nextToWake)
		}
		// Not for a delivery that finished meanwhile: its place would only
		// stand in line, ahead of live waiters, until it expired.
		w.add("INSERT INTO webhook_waiters (webhook_id, holder, queued_at, expires_at, woken_at) SELECT ?, ?, ?, ?, ? "+
			"WHERE NOT "+finishedDelivery+" "+
			"ON CONFLICT (webhook_id, holder) DO UPDATE SET expires_at = excluded.expires_at, woken_at = excluded.woken_at",
			r.WebhookID, r.Holder, now, now+(out.Wait+waiterMargin).Microseconds(), wokenAt, r.DeliveryID, waitableStatuses)
		if q.queued {
			// And the place it had goes. The two test one condition on
			// the same snapshot: only one of them can act.
			w.add("DELETE FROM webhook_waiters WHERE webhook_id = ? AND holder = ? AND "+finishedDelivery,
				r.WebhookID, r.Holder, r.DeliveryID, waitableStatuses)
		}
	}
	w.add("UPDATE deliveries SET waiting_for = ?, updated_at = ? WHERE id = ? AND status IN ?", out.WaitingFor, Now(), r.DeliveryID, waitableStatuses)
	return w.exec(tx, s.dialect)
}

// concurrencyPoll is when a concurrency waiter should ask again: behind
// requests must end before its turn after the next one, which takes about
// the webhook's recent time between grants (intervalUs; 1 s when unknown)
// each. It asks at half that estimate, so that it comes back before its
// turn, spread by up to a quarter by its holder.
func concurrencyPoll(holder string, behind, intervalUs int64) time.Duration {
	gap := micros(intervalUs)
	if gap <= 0 {
		gap = time.Second
	}
	wait := min(max(time.Duration(behind+1)*gap/2, minConcurrencyPoll), maxConcurrencyPoll)
	h := fnv.New32a()
	h.Write([]byte(holder))
	return wait + time.Duration(h.Sum32()%1000)*wait/4000
}

// rateTolerance: a grant may come 1/rateTolerance of an interval before
// the spacing of the requests sent says.
const rateTolerance = 4

// takeRateSlot applies the rate: a holder without a reserved slot takes
// the next free one (tat), and waits for it unless it is now; a holder
// whose slot has come is sent only if that keeps requests actually sent
// spaced (sent_tat, a quarter of an interval of tolerance): waiters woken
// late must not arrive together. The tolerance is small because the time
// from grant to arrival varies too (building, signing, connecting): with
// half an interval, 22 requests of a 20/s limit arrived within one
// second. Only a grant consumes the reservation (a slot taken and granted
// at once is never written); a grant writes tat and sent_tat with the
// rest of the limiter row.
func takeRateSlot(w *writes, row *limiterRow, holder string, rate float64, now int64, recheck func(int64) int64) Slot {
	interval := int64(float64(time.Second/time.Microsecond) / rate)
	start, fresh := row.reservedStartAt, row.reservedStartAt == 0
	if fresh {
		start = max(row.Tat, now)
		row.Tat = start + interval
	}
	refuse := func(wait int64) Slot {
		if fresh || row.takenOver {
			w.add("INSERT INTO webhook_reservations (webhook_id, holder, start_at) VALUES (?, ?, ?)", row.WebhookID, holder, start)
		}
		if fresh {
			w.add("UPDATE webhook_limiters SET tat = ? WHERE webhook_id = ?", row.Tat, row.WebhookID)
		}
		return Slot{WaitingFor: models.WaitingForRateLimit, Wait: micros(wait), Interval: micros(interval)}
	}
	if start > now {
		return refuse(recheck(start - now))
	}
	if due := row.SentTat - interval/rateTolerance; due > now {
		// Spread the late waiters over an interval by holder (over the
		// time to their next look, when they look again sooner).
		h := fnv.New32a()
		h.Write([]byte(holder))
		return refuse(recheck(due-now) + int64(h.Sum32())%recheck(interval))
	}
	row.SentTat = max(row.SentTat, now) + interval
	if !fresh && !row.takenOver {
		w.add("DELETE FROM webhook_reservations WHERE webhook_id = ? AND holder = ?", row.WebhookID, holder)
	}
	return Slot{Granted: true}
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// grant takes the lease (again, for a holder that has it) and marks the
// delivery delivering.
//
// The limiter row is written on every grant, for last_grant and the
// moving average of the time between grants (interval_us: the poll of
// concurrency waiters, and the rate to halve on a throttling answer when
// no rateLimit is set). Writing it less often would skew the average (a
// gap measured across unrecorded grants looks longer: slower polls, a
// deeper cut); the write rides in the statement that takes the lease, so
// it costs no round trip, only a new version of a row already locked.
func grant(w *writes, r SlotRequest, row limiterRow, now int64, again bool) {
	if row.LastGrant > 0 {
		gap := now - row.LastGrant
		if row.IntervalUs > 0 {
			gap = (row.IntervalUs*3 + gap) / 4
		}
		row.IntervalUs = gap
	}
	w.add("UPDATE webhook_limiters SET tat = ?, sent_tat = ?, last_grant = ?, interval_us = ? WHERE webhook_id = ?",
		row.Tat, row.SentTat, now, row.IntervalUs, r.WebhookID)
	if !again {
		w.add("INSERT INTO webhook_leases (webhook_id, holder, expires_at) VALUES (?, ?, ?)",
			r.WebhookID, r.Holder, now+r.Lease.Microseconds())
	}
	w.add("UPDATE deliveries SET status = ?, waiting_for = '', updated_at = ? WHERE id = ?",
		models.DeliveryDelivering, Now(), r.DeliveryID)
}

// effectiveRate is the lower of the configured and the adaptive rate (0:
// neither is set).
func effectiveRate(configured, adaptive float64) float64 {
	switch {
	case configured <= 0:
		return adaptive
	case adaptive <= 0:
		return configured
	}
	return min(configured, adaptive)
}

// lockLimiter reads the webhook's limiter row, creating it, locked until
// the transaction ends (SQLite's write transactions are serialised
// already: the store opens them immediate).
//
// On PostgreSQL the transaction also commits without waiting for its WAL
// to reach the disk (synchronous_commit off, set by the same statement:
// no round trip). The row lock is released only after the commit, so a
// durable commit held every attempt of the webhook behind one disk flush
// each. What a database crash could lose is the last moments' limiter
// bookkeeping (a lease, a waiter's place, a reserved rate slot, a step of
// the adaptive rate, the delivering mark), never its consistency; the
// attempt's outcome is recorded by RecordAttempt, whose durable commit
// flushes these too. (A missing row is created by the first request; the
// set_config runs with the row, on the read that follows.)
func (s *Store) lockLimiter(tx *gorm.DB, webhookID string) (limiterRow, error) {
	const cols = "webhook_id, tat, sent_tat, rate, peak, interval_us, last_grant, throttled, decreased_at"
	q := "SELECT " + cols + " FROM webhook_limiters WHERE webhook_id = ?"
	if s.dialect == Postgres {
		q = "SELECT " + cols + " FROM webhook_limiters, set_config('synchronous_commit', 'off', true) " +
			"WHERE webhook_id = ? FOR UPDATE OF webhook_limiters"
	}
	var row limiterRow
	read := func() error {
		return tx.Raw(q, webhookID).Row().Scan(&row.WebhookID, &row.Tat, &row.SentTat, &row.Rate, &row.Peak, &row.IntervalUs, &row.LastGrant, &row.Throttled, &row.DecreasedAt)
	}
	// The row exists after the webhook's first request: read it first,
	// create it only when missing (one statement less per request).
	if err := read(); !errors.Is(err, sql.ErrNoRows) {
		return row, err
	}
	if err := tx.Exec("INSERT INTO webhook_limiters (webhook_id) VALUES (?) ON CONFLICT (webhook_id) DO NOTHING", webhookID).Error; err != nil {
		return limiterRow{}, err
	}
	return row, read()
}

// Feedback is what a receiver's answer tells the limiter.
type Feedback int

const (
	// Neutral changes no rate (a failure that says nothing about load).
	Neutral Feedback = iota
	// Success raises an adaptive rate back (additive increase).
	Success
	// Throttled (429, 502, 503, 504) halves the webhook's rate
	// (multiplicative decrease).
	Throttled
)

// ReleaseSlot ends a request's lease, applies what its answer says
// about the receiver's load, and picks the concurrency waiter the freed
// slot should wake: the oldest in line that waits for a concurrency slot
// and was not woken since it last asked. It returns that waiter's holder,
// or "" (nobody waits, the lease had already expired, or the pick failed:
// the error then wraps ErrWakeLost, and the slot was released); the caller
// wakes its delivery. Without the wake-up the slot stayed free until some
// waiter's next poll: half a second or more between the requests of a
// busy webhook with a line. configured is the webhook's rateLimit (0:
// none). A success with no adaptive rate in force costs one round trip on
// PostgreSQL.
func (s *Store) ReleaseSlot(ctx context.Context, webhookID, holder string, configured float64, fb Feedback) (wake string, err error) {
	// The release and the rate are independent writes: each commits on
	// its own, without a transaction around them (every attempt pays
	// this, and BEGIN/COMMIT would be most of its round trips).
	db := s.db.WithContext(ctx)
	now := Now().UnixMicro()
	args := append(wakeArgs(webhookID, now, 1), sql.Named("holder", holder))
	withRate := fb != Neutral
	var n int64 // the webhook's limiter rows with an adaptive rate (0 or 1)
	var pickErr error
	rdb := db // the statements below release the lease; nil: released already
	if s.dialect == Postgres {
		if pickErr = db.Raw(releaseSQL, args...).Row().Scan(&wake, &n); pickErr == nil {
			rdb = nil
		} else {
			// The pick must never keep the slot: release it alone, on a
			// context of its own (the statement may have run out the
			// caller's).
			wake = ""
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseAloneTimeout)
			defer cancel()
			rdb = s.db.WithContext(fctx)
		}
	}
	if rdb != nil {
		res := rdb.Exec("DELETE FROM webhook_leases WHERE webhook_id = @webhook AND holder = @holder", args...)
		if err = res.Error; err == nil && res.RowsAffected > 0 && s.dialect == SQLite {
			// SQLite serialises writers: the pick needs no lock.
			wake, pickErr = pickWaiterSQLite(rdb, args)
		}
		if err == nil && withRate {
			n, err = countAdaptive(rdb, args)
		}
	}
	if pickErr != nil {
		pickErr = fmt.Errorf("%w: %v", ErrWakeLost, pickErr)
		if err != nil {
			pickErr = nil // the slot was not released either: that is the error
		}
	}
	// Cheap check first for a success: most webhooks have no adaptive rate.
	if err != nil || fb == Neutral || (fb == Success && n == 0) {
		return wake, translate(errors.Join(err, pickErr))
	}
	err = db.Transaction(func(tx *gorm.DB) error {
		row, err := s.lockLimiter(tx, webhookID)
		if err != nil {
			return err
		}
		now := Now().UnixMicro()
		from := effectiveRate(configured, row.Rate)
		row = adapt(row, configured, fb, now)
		if err := tx.Exec("UPDATE webhook_limiters SET rate = ?, peak = ?, throttled = ?, decreased_at = ? WHERE webhook_id = ?",
			row.Rate, row.Peak, row.Throttled, row.DecreasedAt, webhookID).Error; err != nil {
			return err
		}
		return respace(tx, webhookID, from, effectiveRate(configured, row.Rate), now)
	})
	return wake, translate(errors.Join(err, pickErr))
}

// ErrWakeLost: ReleaseSlot released the slot, but could not pick the
// waiter to wake (it finds the slot at its next poll).
var ErrWakeLost = errors.New("the concurrency waiter to wake could not be picked")

// releaseAloneTimeout bounds the lease's release after the statement that
// also picks a waiter failed.
const releaseAloneTimeout = 5 * time.Second

// nextToWake selects the n waiters (ReleaseSlot: 1; PickConcurrencyWaiters:
// the slots a raised maxConcurrency added) to wake: waiting for a
// concurrency slot and not woken since it last asked (woken_at 0), and
// punctual (its place kept at least lateGrace longer than its next poll
// and the margin need, as AcquireSlot counts waiters owed a slot), the
// oldest in line first (the order AcquireSlot serves waiters in). A
// waiter refused for its rate slot is marked as woken (wait): it asks at
// its slot's time, and a wake-up would only make it ask early. A woken
// waiter's mark is cleared when it asks the limiter again and is refused
// for a concurrency slot, so one whose wake-up was lost is woken again
// after its next poll. Punctual waiters are not among those AcquireSlot
// drops as expired (unless the processes' clocks differ by 25 s or more):
// the pick, which locks the rows it looks at, does not wait for a row that
// AcquireSlot locks to delete while AcquireSlot waits for a row the pick
// holds (a deadlock). Should PostgreSQL abort one anyway, the release
// deletes the lease alone (ReleaseSlot), or the refused attempt is
// retried.
const nextToWake = `SELECT holder FROM webhook_waiters WHERE webhook_id = @webhook AND expires_at >= @punctual AND woken_at = 0
	ORDER BY queued_at, holder LIMIT @n`

// wakeArgs are nextToWake's arguments: n waiters of webhookID at now.
func wakeArgs(webhookID string, now int64, n int) []any {
	return []any{sql.Named("webhook", webhookID), sql.Named("now", now),
		sql.Named("punctual", now+(waiterMargin-lateGrace).Microseconds()), sql.Named("n", n)}
}

type wokenWaiter struct {
	Holder   string
	QueuedAt int64
}

// PickConcurrencyWaiters picks the n deliveries of a webhook to wake
// because an edit raised its maxConcurrency by n: no request ending will
// wake anyone for the slots it added. First the oldest waiters in line
// that a freed slot would wake (nextToWake), marked woken as ReleaseSlot
// marks its pick, oldest first; then, while fewer than n, deliveries
// waiting for a concurrency slot with no place in line (their worker
// turned them away before they asked: the webhook's gate, the tenant's
// share), oldest first. Only as many as can go are woken: the others are
// woken as requests end, or poll. A delivery is named once, however many
// places it holds (an ended run's place is left to expire, and may use up
// one of the n: rare, and the waiter it kept out is woken when a request
// ends). Should the look out of line fail, the waiters picked (and marked)
// are returned with its error: the caller must wake them all the same.
func (s *Store) PickConcurrencyWaiters(ctx context.Context, webhookID string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	// On PostgreSQL the pick is a materialized WITH query, run once: as
	// an IN (... LIMIT n FOR UPDATE) sub-select the planner may run it
	// again per row, each run skipping the rows already marked and taking
	// more than n.
	q := "UPDATE webhook_waiters SET woken_at = @now WHERE webhook_id = @webhook AND holder IN (" + nextToWake + ") RETURNING holder, queued_at"
	if s.dialect == Postgres {
		q = "WITH picked AS MATERIALIZED (" + nextToWake + " FOR UPDATE) " +
			"UPDATE webhook_waiters SET woken_at = @now WHERE webhook_id = @webhook AND holder IN (SELECT holder FROM picked) RETURNING holder, queued_at"
	}
	db := s.db.WithContext(ctx)
	var woken []wokenWaiter
	if err := db.Raw(q, wakeArgs(webhookID, Now().UnixMicro(), n)...).Scan(&woken).Error; err != nil {
		return nil, translate(err)
	}
	// RETURNING comes in no set order.
	slices.SortFunc(woken, func(a, b wokenWaiter) int {
		return cmp.Or(cmp.Compare(a.QueuedAt, b.QueuedAt), strings.Compare(a.Holder, b.Holder))
	})
	ids := make([]string, 0, n)
	for _, w := range woken {
		if id := HolderDelivery(w.Holder); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) >= n {
		return ids, nil
	}
	// Out of line: no place whose holder begins "delivery/" (compared
	// as sameAttempt does, by substr: a range would depend on the
	// database's collation).
	var outOfLine []string
	err := waitingOutOfLine(db, webhookID).Limit(n-len(ids)).Pluck("id", &outOfLine).Error
	for _, id := range outOfLine {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, translate(err)
}

// waitingOutOfLine lists a webhook's deliveries waiting for a concurrency
// slot with no place in its line.
func waitingOutOfLine(db *gorm.DB, webhookID string) *gorm.DB {
	return waitingFor(db, webhookID, models.WaitingForConcurrency).
		Where("NOT EXISTS (SELECT 1 FROM webhook_waiters w WHERE w.webhook_id = ? "+
			"AND substr(w.holder, 1, length(CAST(deliveries.id AS TEXT)) + 1) = CAST(deliveries.id AS TEXT) || '/')", webhookID).
		Order("id")
}

// waitingFor is a webhook's deliveries that a run may be working on and
// that wait for why. It repeats the deliveries_waiting index's predicate
// (waiting_for not empty) as a constant, so that SQLite, and PostgreSQL's
// generic plans, see that the index applies.
func waitingFor(db *gorm.DB, webhookID string, why models.WaitingFor) *gorm.DB {
	return db.Model(&models.Delivery{}).Scopes(withOpenRun(webhookID)).
		Where("waiting_for <> '' AND waiting_for = ?", why)
}

// releaseSQL is ReleaseSlot's one statement on PostgreSQL: the DELETE
// and the UPDATE ride in it as data-modifying WITH queries (run to
// completion whether read or not). The pick locks the waiter's row: two
// requests ending together wake two waiters (the second waits for the
// first's mark, sees the row no longer qualifies, and takes the next). A
// refusal that commits after the statement began is not seen (a first
// refusal's new row, or a woken waiter's mark cleared): that waiter finds
// the slot at its next poll.
const releaseSQL = `WITH released AS (DELETE FROM webhook_leases WHERE webhook_id = @webhook AND holder = @holder RETURNING 1),
	woken AS (UPDATE webhook_waiters SET woken_at = @now WHERE webhook_id = @webhook AND EXISTS (SELECT 1 FROM released)
		AND holder = (` + nextToWake + ` FOR UPDATE) RETURNING holder)
SELECT coalesce((SELECT holder FROM woken), ''), (` + adaptiveCount + `)`

const adaptiveCount = "SELECT count(*) FROM webhook_limiters WHERE webhook_id = @webhook AND rate > 0"

// pickWaiterSQLite marks and returns the waiter to wake ("": none).
func pickWaiterSQLite(db *gorm.DB, args []any) (wake string, err error) {
	err = db.Raw("UPDATE webhook_waiters SET woken_at = @now WHERE webhook_id = @webhook AND holder = ("+
		nextToWake+") RETURNING holder", args...).Row().Scan(&wake)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return wake, err
}

func countAdaptive(db *gorm.DB, args []any) (n int64, err error) {
	err = db.Raw(adaptiveCount, args...).Row().Scan(&n)
	return n, err
}

// climbTarget is the rate an adaptive rate climbs back to: the
// rateLimit once the adaptive limit is lifted, or without one the peak it
// came down from.
func climbTarget(configured, peak float64) float64 {
	if configured > 0 {
		return configured
	}
	return peak
}

// exactWait is the wait for a rate slot under a rate that only an edit
// of the webhook changes: the slot's own time.
func exactWait(us int64) int64 { return us }

// adaptiveRecheck is the least time a request waits for its rate slot
// before asking again while an adaptive rate is in force.
const adaptiveRecheck = 4 * time.Second

// rateRecheck is how long a request waits before asking again for a slot
// due in us while the adaptive rate (rate) is in force: successes raise
// that rate back towards target and bring the reserved slots nearer
// (respace), and a request asleep until the slot the slower rate gave it
// would not see it move. Every change of the rate keeps each slot's place
// in line (its distance times the rate), and the rate climbs no higher
// than target, so a slot can come nearer by at most rate/target: looking
// again after that fraction of the wait is never late, and a waiter far
// back looks a few times (once its slot is within 4 s at the target rate,
// every 4 s), not every few seconds throughout.
func rateRecheck(rate, target float64) func(int64) int64 {
	frac := 1.0
	if target > rate {
		frac = rate / target
	}
	return func(us int64) int64 {
		return min(us, max(adaptiveRecheck.Microseconds(), int64(float64(us)*frac)))
	}
}

// adaptiveInForce reports whether the adaptive rate is the one in force
// (it may still change), rather than the configured rateLimit alone.
func adaptiveInForce(configured, adaptive float64) bool {
	return adaptive > 0 && (configured <= 0 || adaptive < configured)
}

// respace follows a change of the rate in force from from to to (requests
// per second; 0: none): each reserved slot still to come, the next
// one to hand out (tat) and the earliest the next request may go after
// the last one sent (sent_tat) keep their places at the new spacing (their
// distance from now times the rate). When the rate rises, they come
// nearer. Without this, a receiver that recovered from throttling answers
// (or from an outage the circuit breaker held its deliveries through) got
// the requests already waiting at the slowest rate it had come down to: a
// resumed backlog at the floor of 0.1/s waited ten seconds a request
// however fast the rate came back. When it falls, they move away: a line
// that only ever closed up would, after a few halvings and climbs, have
// every waiter due at once. Moving a slot nearer never sends a request too
// many: a grant also keeps requests sent spaced by sent_tat at the rate
// then in force.
func respace(tx *gorm.DB, webhookID string, from, to float64, now int64) error {
	switch {
	case from <= 0 || to == from:
		return nil // no rate was in force, or it did not change
	case to <= 0:
		// Lifted, with no rateLimit: nothing limits the rate, and a
		// request that asks is sent. The line goes: slots left in it would
		// all be past, and should a throttling answer bring a rate back,
		// the requests still waiting would come due at once; without it
		// they queue again in the order they ask, from now.
		return dropReservations(tx, webhookID, "", now)
	}
	ratio := from / to
	// The ratio is cast: PostgreSQL would otherwise type it after start_at,
	// as a bigint.
	moved := func(col string) string {
		return "@now + CAST((" + col + " - @now) * CAST(@ratio AS DOUBLE PRECISION) AS BIGINT)"
	}
	args := []any{sql.Named("now", now), sql.Named("ratio", ratio), sql.Named("webhook", webhookID)}
	if err := tx.Exec("UPDATE webhook_reservations SET start_at = "+moved("start_at")+
		" WHERE webhook_id = @webhook AND start_at > @now", args...).Error; err != nil {
		return err
	}
	return tx.Exec("UPDATE webhook_limiters SET tat = CASE WHEN tat > @now THEN "+moved("tat")+" ELSE tat END, "+
		"sent_tat = CASE WHEN sent_tat > @now THEN "+moved("sent_tat")+" ELSE sent_tat END WHERE webhook_id = @webhook", args...).Error
}

// rateLimitEdited follows an edit of the webhook's rateLimit from from to
// to (0: none) inside the edit's transaction: the rate slots reserved
// under the old rate in force keep their places in line at the new one
// (respace), so that a raised limit brings the waiting requests nearer and
// a lowered one moves them away instead of letting them all fall due
// together. Waiters asleep until their old slot are woken by the caller
// (dispatch.WakeRateWaiters); a webhook that never had a rate has no line.
//
// The limiter row is locked here without lockLimiter, whose commit does
// not wait for the disk: the webhook's edit in the same transaction must
// be durable once acknowledged.
func rateLimitEdited(tx *gorm.DB, dialect Dialect, webhookID string, from, to float64) error {
	q := "SELECT rate FROM webhook_limiters WHERE webhook_id = ?"
	if dialect == Postgres {
		q += " FOR UPDATE"
	}
	var adaptive float64
	if err := tx.Raw(q, webhookID).Row().Scan(&adaptive); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return respace(tx, webhookID, effectiveRate(from, adaptive), effectiveRate(to, adaptive), Now().UnixMicro())
}

// RateWaiters lists the deliveries of a webhook waiting for a rate slot:
// waiting_for rateLimit, with a workflow working on them (OpenDeliveries'
// statuses; a delivery still in the outbox has no run to tell). It reads
// the deliveries, not the reservations: an edit that removes the limit
// drops those first.
func (s *Store) RateWaiters(ctx context.Context, webhookID string) ([]string, error) {
	var ids []string
	err := rateWaiters(s.db.WithContext(ctx), webhookID).Pluck("id", &ids).Error
	return ids, translate(err)
}

func rateWaiters(db *gorm.DB, webhookID string) *gorm.DB {
	return waitingFor(db, webhookID, models.WaitingForRateLimit).Order("id")
}

// adapt applies the AIMD rule to the row at now (µs): the adaptive rate,
// the rate it returns to, and the throttling answers counted.
func adapt(row limiterRow, configured float64, fb Feedback, now int64) limiterRow {
	switch fb {
	case Throttled:
		row.Throttled++
		if now-row.DecreasedAt < decreaseHoldoff.Microseconds() {
			return row
		}
		from := effectiveRate(configured, row.Rate)
		if from <= 0 {
			from = observedRate(row)
		}
		if row.Peak <= 0 {
			row.Peak = from
		}
		row.Rate, row.DecreasedAt = max(from/2, MinAdaptiveRate), now
	case Success:
		if row.Rate <= 0 {
			return row
		}
		row.Rate += max(row.Peak/aimdSteps, MinAdaptiveRate)
		// Within a rounding error of the target counts as there: five
		// steps of 0.1 from 0.5 sum to 0.9999999999999999.
		const there = 1 - 1e-9
		if row.Rate >= row.Peak*there || (configured > 0 && row.Rate >= configured*there) {
			row.Rate, row.Peak = 0, 0 // back where it was: the adaptive limit is lifted
		}
	}
	return row
}

// observedRate is the webhook's recent request rate, from the average gap
// between its requests (1/s when it has sent too little to tell).
func observedRate(row limiterRow) float64 {
	if row.IntervalUs <= 0 {
		return 1
	}
	return float64(time.Second/time.Microsecond) / float64(row.IntervalUs)
}

// LimiterState is what a webhook's limiter shows: requests in flight now,
// the adaptive rate in force (0: none) and throttling answers counted.
type LimiterState struct {
	InFlight     int64
	AdaptiveRate float64
	Throttled    int64
	// Waiting counts the webhook's deliveries by what they wait for.
	Waiting map[models.WaitingFor]int64
}

// WebhookLimiter reads the state of a webhook's limiter.
func (s *Store) WebhookLimiter(ctx context.Context, webhookID string) (LimiterState, error) {
	out := LimiterState{Waiting: map[models.WaitingFor]int64{}}
	db := s.db.WithContext(ctx)
	if err := db.Raw("SELECT count(*) FROM webhook_leases WHERE webhook_id = ? AND expires_at >= ?", webhookID, Now().UnixMicro()).
		Row().Scan(&out.InFlight); err != nil {
		return out, err
	}
	err := db.Raw("SELECT rate, throttled FROM webhook_limiters WHERE webhook_id = ?", webhookID).Row().Scan(&out.AdaptiveRate, &out.Throttled)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return out, err
	}
	var rows []waitingCount
	if err := countWaiting(db, webhookID).Scan(&rows).Error; err != nil {
		return out, err
	}
	for _, r := range rows {
		out.Waiting[r.WaitingFor] = r.N
	}
	return out, nil
}

type waitingCount struct {
	WaitingFor models.WaitingFor
	N          int64
}

// countWaiting counts a webhook's open deliveries by what they wait for
// (the deliveries_waiting index: only waiting rows are read).
func countWaiting(db *gorm.DB, webhookID string) *gorm.DB {
	return db.Model(&models.Delivery{}).Select("waiting_for, count(*) AS n").
		Where("webhook_id = ? AND waiting_for <> '' AND status IN ?", webhookID, waitableStatuses).
		Group("waiting_for")
}

// KeepWaiting keeps a queued concurrency waiter's place while its worker
// refuses it before it reaches the limiter (the webhook's gate in that
// process is full, or its tenant holds its share of the worker's slots):
// without it the waiter, polling but never asking here, would turn late
// after lateGrace (others overtake it) and lose its place after
// waiterMargin. poll is the longest the waiter's next ask may take. A
// holder with no live place has no place to keep. A woken waiter refused
// so stays marked woken: the next request to end wakes the waiter behind
// it, and it is woken again only after it asks the limiter. With a
// deliveryID, the
// delivery's waiting_for is also set to concurrency, as after a refusal by
// AcquireSlot, so that the wait shows in the API and the console (the
// caller passes "" when the delivery it loaded shows the wait already);
// only a delivery still pending or awaiting a retry is marked, so that a
// late write never marks one that has since been sent or settled.
func (s *Store) KeepWaiting(ctx context.Context, deliveryID, webhookID, holder string, poll time.Duration) error {
	now := Now().UnixMicro()
	until := now + (poll + waiterMargin).Microseconds()
	// Updates by primary key, no limiter lock, sent together (one round
	// trip on PostgreSQL): a place already kept for longer (a far turn's
	// poll) is not shortened, and a delivery already marked is not
	// written again.
	var w writes
	w.add("UPDATE webhook_waiters SET expires_at = CASE WHEN expires_at < ? THEN ? ELSE expires_at END "+
		"WHERE webhook_id = ? AND holder = ? AND expires_at >= ?", until, until, webhookID, holder, now)
	if deliveryID != "" {
		w.add("UPDATE deliveries SET waiting_for = ? WHERE id = ? AND waiting_for <> ? AND status IN (?, ?)",
			models.WaitingForConcurrency, deliveryID, models.WaitingForConcurrency,
			models.DeliveryPending, models.DeliveryAwaitingRetry)
	}
	return translate(w.exec(s.db.WithContext(ctx), s.dialect))
}
