package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// The outbox: ingest commits deliveries with dispatched_at NULL and the
// starter hands them to Temporal afterwards, so producers never wait on
// Temporal and a crash between the two loses nothing.

// startWindowLock serialises claims across processes on PostgreSQL, so that
// the admission window is one bound for all of them, not one per replica.
const startWindowLock = 0x77656268 // "webh"

// ClaimForStart marks waiting deliveries as dispatched at now and returns
// them in the order to start them: at most limit, no more than the room
// left in the admission window (window minus the deliveries already
// started and not yet attempted, but for those waiting for a limit),
// shared fairly (fairShares): round-robin across tenants, then across a
// tenant's webhooks, each webhook's oldest first. full reports a window
// with no room for anyone waiting. A batch is claimed once it has closed.
// Several processes may claim at once: each row goes to exactly one of
// them (FOR UPDATE SKIP LOCKED), and the window is counted under a lock
// they share; SQLite has a single process.
func (s *Store) ClaimForStart(ctx context.Context, limit, window int, now time.Time) (ds []models.Delivery, full bool, err error) {
	ds, full, _, err = s.ClaimForStartWithin(ctx, limit, window, window, now)
	return ds, full, err
}

// ClaimForStartWithin is ClaimForStart with the ready starts (those not
// waiting for a limit) bounded by ready, at most window, and the shares
// of them by ready too: a starter sizes ready by how fast Temporal answers
// (its adaptive window). Waiters stay bounded by window, so that the
// waiters a full window let in do not leave a smaller one no room for
// anyone. held reports that ready held starts back: its room ran out, or
// a tenant's or webhook's share of it did, while deliveries waited (not a
// waiter bound, nor the claim's limit).
func (s *Store) ClaimForStartWithin(ctx context.Context, limit, window, ready int, now time.Time) (ds []models.Delivery, full, held bool, err error) {
	ready = min(ready, window)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ds, full, held = nil, false, false
		if s.dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", startWindowLock).Error; err != nil {
				return err
			}
		}
		var open []openStarts
		if err := tx.Raw(openStartsSQL).Scan(&open).Error; err != nil {
			return err
		}
		// Starts waiting for a limit are not in Temporal's queue: they hold
		// places on top of the window, bounded per webhook by fairShares
		// and in all by a second window, so that everything started stays
		// within twice the window however many webhooks are throttled.
		// The ready ones stay within ready: the waiters a full window let
		// in may outnumber a shrunk one, and do not take its room.
		started, waiters := 0, 0
		for _, o := range open {
			started += o.N
			waiters += o.Waiters
		}
		readyRoom := ready - (started - waiters)
		room := min(readyRoom, 2*window-started)
		if room <= 0 {
			full = true
			if readyRoom > 0 || 2*window-started <= 0 {
				return nil // the waiters' bound holds the starts back
			}
			// Held back by ready if deliveries wait.
			var err error
			held, err = outboxWaiting(tx, now)
			return err
		}
		queues, err := outboxQueues(tx, now)
		if err != nil || len(queues) == 0 {
			return err
		}
		ds, full, held, err = s.claimRounds(tx, queues, open, window, ready, min(limit, room), now)
		if err != nil || held || len(ds) != readyRoom || readyRoom > limit || readyRoom > 2*window-started {
			return err
		}
		// All the ready room taken, the claim's limit and the waiters'
		// bound leaving more: ready was the bound, if deliveries wait.
		held, err = outboxWaiting(tx, now)
		return err
	})
	if err != nil {
		return nil, false, false, err
	}
	return ds, full, held, nil
}

// openStartsSQL counts, per webhook, the deliveries started and not yet
// attempted (waiters among them). It runs on every claim, under the
// window's lock (on SQLite, inside the one write transaction every other
// writer waits for), so it must read deliveries_starting, never every
// delivery: a system with 100,000 deliveries parked on retry timers spent
// about 20 ms a claim walking them, and ingest waited behind it. SQLite
// plans without statistics (webhookd never gathers any) and chose an index
// that gave the GROUP BY's order over the partial index; the rows are
// therefore selected in a materialized step of their own, which asks for
// no order (TestClaimCountsStartsWithoutReadingParkedDeliveries).
const openStartsSQL = `WITH started AS MATERIALIZED (
		SELECT tenant_id, webhook_id, waiting_for FROM deliveries
		WHERE status = 'pending' AND dispatched_at IS NOT NULL AND trigger <> 'test')
	SELECT tenant_id, webhook_id, COUNT(*) AS n,
		SUM(CASE WHEN waiting_for = 'concurrency' THEN 1 ELSE 0 END) AS limited,
		SUM(CASE WHEN waiting_for <> '' THEN 1 ELSE 0 END) AS waiters
	FROM started GROUP BY tenant_id, webhook_id`

// claimRounds is how many times a claim hands out again the places a
// webhook could not fill.
const claimRounds = 3

// claimRounds claims want places shared by fairShares. A webhook may fill
// fewer places than it is given: fewer deliveries waiting, rows another
// claimer holds, or only deliveries queued behind an unsettled sequence
// head (outboxQueues cannot tell those apart without reading them). Such a
// webhook is dropped and its places are shared again among the others, so
// that a blocked sequence cannot take the places of every other tenant.
func (s *Store) claimRounds(tx *gorm.DB, queues []outboxQueue, open []openStarts, window, ready, want int, now time.Time) (ds []models.Delivery, full, held bool, err error) {
	tenantOf := map[string]string{}
	for _, q := range queues {
		tenantOf[q.WebhookID] = q.TenantID
	}
	for round := 0; round < claimRounds && len(ds) < want && len(queues) > 0; round++ {
		order, atShare := fairShares(queues, open, window, ready, want-len(ds))
		held = held || atShare
		if len(order) == 0 {
			// Everyone waiting is at their share.
			return ds, len(ds) == 0, held, nil
		}
		got, err := s.claimHeads(tx, order, now)
		if err != nil {
			return nil, false, false, err
		}
		ds = append(ds, inClaimOrder(got, order)...)
		places, filled := map[string]int{}, map[string]int{}
		for _, h := range order {
			places[h]++
		}
		for _, d := range got {
			filled[d.WebhookID]++
		}
		for h, n := range filled {
			open = append(open, openStarts{TenantID: tenantOf[h], WebhookID: h, N: n})
		}
		short := false
		queues = slices.DeleteFunc(queues, func(q outboxQueue) bool {
			drained := filled[q.WebhookID] < places[q.WebhookID]
			short = short || drained
			return drained
		})
		if !short {
			break
		}
	}
	return ds, false, held, nil
}

// outboxQueues lists the webhooks with deliveries ready to claim (an open
// batch is not), one index probe per webhook (a loose scan of deliveries_outbox, which
// both databases run as a recursive query), however long the outbox.
func outboxQueues(tx *gorm.DB, now time.Time) ([]outboxQueue, error) {
	var qs []outboxQueue
	err := tx.Raw(outboxQueuesSQL, sql.Named("now", now)).Scan(&qs).Error
	for i := range qs {
		qs[i].MaxConcurrency = EffectiveMaxConcurrency(qs[i].MaxConcurrency)
	}
	return qs, err
}

// outboxWaiting reports a delivery ready to claim, with the first probe
// of outboxQueuesSQL.
func outboxWaiting(tx *gorm.DB, now time.Time) (bool, error) {
	var first []outboxQueue
	err := tx.Raw(outboxWaitingSQL, sql.Named("now", now)).Scan(&first).Error
	return len(first) > 0, err
}

// outboxWaitingSQL finds one webhook with a delivery ready to claim, if
// any.
const outboxWaitingSQL = `SELECT webhook_id FROM deliveries WHERE status = 'pending' AND dispatched_at IS NULL
	AND (batch_closes_at IS NULL OR batch_closes_at <= @now) ORDER BY webhook_id LIMIT 1`

const outboxQueuesSQL = `WITH RECURSIVE hooks(webhook_id) AS (
			SELECT (SELECT webhook_id FROM deliveries WHERE status = 'pending' AND dispatched_at IS NULL
				AND (batch_closes_at IS NULL OR batch_closes_at <= @now) ORDER BY webhook_id LIMIT 1)
			UNION ALL
			SELECT (SELECT d.webhook_id FROM deliveries d WHERE d.status = 'pending' AND d.dispatched_at IS NULL
				AND (d.batch_closes_at IS NULL OR d.batch_closes_at <= @now)
				AND d.webhook_id > hooks.webhook_id ORDER BY d.webhook_id LIMIT 1)
			FROM hooks WHERE hooks.webhook_id IS NOT NULL
		)
		SELECT w.tenant_id, w.id AS webhook_id, w.max_concurrency FROM hooks JOIN webhooks w ON w.id = hooks.webhook_id`

// claimHeads claims, for each webhook, as many of its oldest waiting
// deliveries as order gives it places. Rows another transaction holds
// (an open batch taking an event) are skipped.
func (s *Store) claimHeads(tx *gorm.DB, order []string, now time.Time) ([]models.Delivery, error) {
	places := map[string]int{}
	var hooks []string
	for _, h := range order {
		if places[h] == 0 {
			hooks = append(hooks, h)
		}
		places[h]++
	}
	heads := make([]string, len(hooks))
	args := []any{now}
	for i, h := range hooks {
		// Of an ordered webhook's deliveries, only each sequence's head
		// (sequence.go).
		heads[i] = fmt.Sprintf(`SELECT id FROM (SELECT d.id FROM deliveries d
			WHERE d.webhook_id = ? AND d.status = 'pending' AND d.dispatched_at IS NULL AND (d.batch_closes_at IS NULL OR d.batch_closes_at <= ?)
			AND `+sequenceHead+`
			ORDER BY d.created_at, d.id LIMIT ?) AS h%d`, i)
		args = append(args, h, now, places[h])
	}
	lock := ""
	if s.dialect == Postgres {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	var ds []models.Delivery
	// A claimed delivery waits for nothing yet: a waiting_for left from an
	// earlier start (its claim released, a late write) would count it as a
	// waiter, outside the window.
	err := tx.Raw(`UPDATE deliveries SET dispatched_at = ?, starts = starts + 1, waiting_for = '' WHERE id IN (
		SELECT id FROM deliveries WHERE id IN (`+strings.Join(heads, " UNION ALL ")+`) `+lock+`) RETURNING *`, args...).Scan(&ds).Error
	return ds, err
}

// inClaimOrder sorts claimed deliveries as order gives their webhooks
// places: the first place of every webhook, then the second, each
// webhook's deliveries oldest first.
func inClaimOrder(ds []models.Delivery, order []string) []models.Delivery {
	slices.SortFunc(ds, func(a, b models.Delivery) int {
		return cmp.Or(cmp.Compare(a.WebhookID, b.WebhookID), a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	byHook := map[string][]models.Delivery{}
	for _, d := range ds {
		byHook[d.WebhookID] = append(byHook[d.WebhookID], d)
	}
	out := make([]models.Delivery, 0, len(ds))
	for _, h := range order {
		if q := byHook[h]; len(q) > 0 {
			out = append(out, q[0])
			byHook[h] = q[1:]
		}
	}
	return out
}

// ReleaseClaims puts deliveries whose start failed back in the outbox.
func (s *Store) ReleaseClaims(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Model(&models.Delivery{}).Where("id IN ?", ids).
		Update("dispatched_at", nil).Error
}

// CountStarting counts deliveries handed to Temporal whose first attempt has
// not begun: the work queued in Temporal (the starter bounds the ones not
// waiting for a limit by its window, and each webhook's waiters).
// Test sends are left out: they are started outside the window, and one
// whose start failed must not hold a place in it.
func (s *Store) CountStarting(ctx context.Context) (int64, error) {
	return countStarting(s.db.WithContext(ctx))
}

func countStarting(db *gorm.DB) (int64, error) {
	var n int64
	err := db.Model(&models.Delivery{}).
		Where("status = ? AND dispatched_at IS NOT NULL AND trigger <> ?", models.DeliveryPending, models.TriggerTest).Count(&n).Error
	return n, err
}

// CountUndispatched counts deliveries waiting in the outbox (open batches
// included): the start backlog.
func (s *Store) CountUndispatched(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Delivery{}).
		Where("status = ? AND dispatched_at IS NULL", models.DeliveryPending).Count(&n).Error
	return n, err
}

// UndispatchedBefore reports whether a delivery committed before t still
// waits in the outbox (the api's backstop starter, dispatch.Starter).
func (s *Store) UndispatchedBefore(ctx context.Context, t time.Time) (bool, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&models.Delivery{}).
		Where("status = ? AND dispatched_at IS NULL AND created_at < ?", models.DeliveryPending, t).
		Limit(1).Pluck("id", &ids).Error
	return len(ids) > 0, err
}

// NextBatchClose returns when the next open batch closes, if any.
func (s *Store) NextBatchClose(ctx context.Context) (time.Time, bool, error) {
	var d models.Delivery
	err := s.db.WithContext(ctx).Select("batch_closes_at").
		Where("status = ? AND dispatched_at IS NULL AND batch_closes_at IS NOT NULL", models.DeliveryPending).
		Order("batch_closes_at").Limit(1).Find(&d).Error
	if err != nil || d.BatchClosesAt == nil {
		return time.Time{}, false, err
	}
	return *d.BatchClosesAt, true, nil
}

// CountByStatus counts deliveries in a status, with predicates that match
// the partial indexes kept for the statuses an operator watches (the
// counts are then read from an index alone).
func (s *Store) CountByStatus(ctx context.Context, status models.DeliveryStatus) (int64, error) {
	var n int64
	if status == models.DeliveryPending {
		waiting, err := s.CountUndispatched(ctx)
		if err != nil {
			return 0, err
		}
		started, err := s.CountStarting(ctx)
		return waiting + started, err
	}
	err := s.db.WithContext(ctx).Model(&models.Delivery{}).Where("status = ?", status).Count(&n).Error
	return n, err
}
