package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// Webhook ids of the limiter tests (ids are uuids on PostgreSQL).
var w1, w2 = uuid.NewString(), uuid.NewString()

func slot(holder string, maxConc int, rate float64) store.SlotRequest {
	return store.SlotRequest{DeliveryID: uuid.NewString(), WebhookID: w1, Holder: holder,
		MaxConcurrency: maxConc, RateLimit: rate, Lease: time.Minute}
}

func TestLimiterConcurrencyCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		for _, h := range []string{"a", "b"} {
			if got, err := s.AcquireSlot(ctx, slot(h, 2, 0)); err != nil || !got.Granted {
				t.Fatalf("%s: %+v %v", h, got, err)
			}
		}
		got, err := s.AcquireSlot(ctx, slot("c", 2, 0))
		if err != nil || got.Granted || got.WaitingFor != models.WaitingForConcurrency {
			t.Fatalf("third request under a cap of 2: %+v %v", got, err)
		}
		// Asking again for a held slot (a retried activity) is no new request.
		if got, err := s.AcquireSlot(ctx, slot("a", 2, 0)); err != nil || !got.Granted {
			t.Fatalf("holder a again: %+v %v", got, err)
		}
		st, err := s.WebhookLimiter(ctx, w1)
		if err != nil || st.InFlight != 2 {
			t.Fatalf("state %+v %v", st, err)
		}
		if _, err := s.ReleaseSlot(ctx, w1, "a", 0, store.Success); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSlot(ctx, slot("c", 2, 0)); err != nil || !got.Granted {
			t.Fatalf("after a release: %+v %v", got, err)
		}
		// Another webhook has its own slots.
		other := slot("x", 2, 0)
		other.WebhookID = w2
		if got, err := s.AcquireSlot(ctx, other); err != nil || !got.Granted {
			t.Fatalf("other webhook: %+v %v", got, err)
		}
	})
}

// TestLimiterCapHoldsUnderConcurrency: many senders at once (as many worker
// processes would) never hold more than the cap.
func TestLimiterCapHoldsUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const limit = 3
		var inFlight, most atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := 0; j < 5; {
					h := fmt.Sprintf("h%d-%d", i, j)
					got, err := s.AcquireSlot(ctx, slot(h, limit, 0))
					if err != nil {
						t.Error(err)
						return
					}
					if !got.Granted {
						time.Sleep(time.Millisecond)
						continue
					}
					n := inFlight.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(2 * time.Millisecond)
					inFlight.Add(-1)
					if _, err := s.ReleaseSlot(ctx, w1, h, 0, store.Success); err != nil {
						t.Error(err)
						return
					}
					j++
				}
			})
		}
		wg.Wait()
		if most.Load() > limit || most.Load() < 2 {
			t.Fatalf("most in flight %d under a cap of %d", most.Load(), limit)
		}
	})
}

func TestLimiterLeaseExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		lost := slot("killed", 1, 0)
		lost.Lease = 300 * time.Millisecond // its sender was killed: never released
		if got, err := s.AcquireSlot(ctx, lost); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		if got, _ := s.AcquireSlot(ctx, slot("next", 1, 0)); got.Granted {
			t.Fatal("granted while the lease is live")
		}
		time.Sleep(400 * time.Millisecond)
		if got, err := s.AcquireSlot(ctx, slot("next", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("after the lease expired: %+v %v", got, err)
		}
		// The expired lease is gone, not only ignored: its holder (a
		// retried activity of the killed sender) asks anew, waits for
		// the cap, and gets a lease of its own once there is room.
		if got, err := s.AcquireSlot(ctx, lost); err != nil || got.Granted {
			t.Fatalf("expired holder while next holds the only slot: %+v %v", got, err)
		}
		if _, err := s.ReleaseSlot(ctx, w1, "next", 0, store.Success); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSlot(ctx, lost); err != nil || !got.Granted {
			t.Fatalf("expired holder after the release: %+v %v", got, err)
		}
		// Its own lease expires too; asking again replaces it.
		time.Sleep(400 * time.Millisecond)
		if got, err := s.AcquireSlot(ctx, lost); err != nil || !got.Granted {
			t.Fatalf("holder whose own lease expired: %+v %v", got, err)
		}
		if st, err := s.WebhookLimiter(ctx, w1); err != nil || st.InFlight != 1 {
			t.Fatalf("state %+v %v", st, err)
		}
	})
}

func TestLimiterRateReservations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if got, err := s.AcquireSlot(ctx, slot("r0", 100, 1)); err != nil || !got.Granted {
			t.Fatalf("first: %+v %v", got, err)
		}
		// Each refusal reserves the next slot, 1 s apart (a slow rate, so
		// that a loaded machine's calls do not pass a slot): the reserved
		// start lies between the call's start and end plus its wait.
		type window struct{ from, to time.Time }
		ask := func(h string) (store.Slot, window) {
			t.Helper()
			before := time.Now()
			got, err := s.AcquireSlot(ctx, slot(h, 100, 1))
			if err != nil {
				t.Fatal(err)
			}
			return got, window{before.Add(got.Wait), time.Now().Add(got.Wait)}
		}
		var starts []window
		for _, h := range []string{"r1", "r2", "r3"} {
			got, w := ask(h)
			if got.Granted || got.WaitingFor != models.WaitingForRateLimit {
				t.Fatalf("%s: %+v", h, got)
			}
			starts = append(starts, w)
		}
		apart := func(a, b window) bool {
			return b.to.Sub(a.from) >= time.Second && b.from.Sub(a.to) <= time.Second
		}
		for i := 1; i < len(starts); i++ {
			if !apart(starts[i-1], starts[i]) {
				t.Fatalf("reserved starts %d and %d are not 1 s apart: %v", i-1, i, starts)
			}
		}
		// Asking again early keeps the same slot (a retried activity takes
		// no second one).
		if got, w := ask("r2"); got.Granted || w.to.Before(starts[1].from) || w.from.After(starts[1].to) {
			t.Fatalf("r2 again: %+v %v, reserved %v", got, w, starts[1])
		}
		if _, w := ask("r4"); !apart(starts[2], w) {
			t.Fatalf("the next slot is not after r3's: %v after %v", w, starts)
		}
		// Its slot come, r1 is sent.
		time.Sleep(time.Until(starts[0].to))
		if got, _ := ask("r1"); !got.Granted {
			t.Fatalf("r1 at its slot: %+v", got)
		}
	})
}

// TestLimiterNewRunTakesOverItsDeliverySlot: a delivery started again
// under a new run (its webhook resumed after a pause ended the run that
// waited; a replay) takes over the rate slot its ended run reserved,
// instead of reserving one behind it, and the next delivery's slot is the
// one after it. The rate still holds.
func TestLimiterNewRunTakesOverItsDeliverySlot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		d1, d2 := uuid.NewString(), uuid.NewString()
		type window struct{ from, to time.Time }
		ask := func(d, h string) (store.Slot, window) {
			t.Helper()
			before := time.Now()
			got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: d, WebhookID: w1, Holder: d + "/" + h,
				MaxConcurrency: 100, RateLimit: 1, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return got, window{before.Add(got.Wait), time.Now().Add(got.Wait)}
		}
		same := func(a, b window) bool { return !b.to.Before(a.from) && !b.from.After(a.to) }
		apart := func(a, b window) bool {
			return b.to.Sub(a.from) >= time.Second && b.from.Sub(a.to) <= time.Second
		}
		if got, _ := ask(uuid.NewString(), "1/r"); !got.Granted {
			t.Fatalf("first: %+v", got)
		}
		gotA, a := ask(d1, "1/runA")
		if gotA.Granted {
			t.Fatalf("run A, a second after the first: %+v", gotA)
		}
		// Run A ended held; run B asks for the same attempt.
		if got, b := ask(d1, "1/runB"); got.Granted || !same(a, b) {
			t.Fatalf("run B: %+v at %v, want run A's slot %v", got, b, a)
		}
		gotD2, next := ask(d2, "1/run")
		if gotD2.Granted || !apart(a, next) {
			t.Fatalf("the next delivery: %+v at %v, want a second after %v", gotD2, next, a)
		}
		var n int64
		if err := s.Raw(ctx, &n, "SELECT count(*) FROM webhook_reservations WHERE webhook_id = ? AND holder = ?", w1, d1+"/1/runA"); err != nil || n != 0 {
			t.Fatalf("run A's reservation: %d %v, want none", n, err)
		}
		// Run B is sent at the slot, the next delivery a second later,
		// not before.
		time.Sleep(time.Until(a.to))
		if got, _ := ask(d1, "1/runB"); !got.Granted {
			t.Fatalf("run B at its slot: %+v", got)
		}
		grantedB := time.Now()
		if got, _ := ask(d2, "1/run"); got.Granted {
			t.Fatalf("the next delivery, just after run B: %+v", got)
		}
		// A loaded machine may grant B late; the next grant is spaced
		// from B's, so wait for whichever comes later.
		time.Sleep(max(time.Until(next.to), time.Until(grantedB.Add(time.Second))))
		if got, _ := ask(d2, "1/run"); !got.Granted {
			t.Fatalf("the next delivery at its slot: %+v", got)
		}
	})
}

// TestLimiterNewRunIsNotQueuedBehindItsEndedRun: the place in line of a
// delivery's ended run is owed nothing: its new run is not queued behind
// it, and it is left to expire.
func TestLimiterNewRunIsNotQueuedBehindItsEndedRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		d := uuid.NewString()
		req := func(h string) store.SlotRequest {
			return store.SlotRequest{DeliveryID: d, WebhookID: w1, Holder: d + "/" + h, MaxConcurrency: 1, Lease: time.Minute}
		}
		if got, err := s.AcquireSlot(ctx, slot("busy", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, req("1/runA")); err != nil || got.Granted {
			t.Fatalf("run A, while busy: %+v %v", got, err)
		}
		if _, err := s.ReleaseSlot(ctx, w1, "busy", 0, store.Neutral); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSlot(ctx, req("1/runB")); err != nil || !got.Granted {
			t.Fatalf("run B, behind its own ended run: %+v %v", got, err)
		}
		// Run A's place is left to expire (its activity may still poll).
		var n int64
		if err := s.Raw(ctx, &n, "SELECT count(*) FROM webhook_waiters WHERE webhook_id = ?", w1); err != nil || n != 1 {
			t.Fatalf("waiters left: %d %v, want run A's", n, err)
		}
	})
}

// TestLimiterLateWaitersDoNotBunch: waiters whose slots passed while they
// were held up (a slow worker) are still sent one interval apart.
func TestLimiterLateWaitersDoNotBunch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// 1/s: the two late asks must come within a quarter of an interval of
		// each other, which a loaded machine does not manage at 10/s.
		ctx := t.Context()
		for _, h := range []string{"l0", "l1", "l2"} {
			if _, err := s.AcquireSlot(ctx, slot(h, 100, 1)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2100 * time.Millisecond) // every slot has passed
		granted := 0
		for _, h := range []string{"l1", "l2"} {
			got, err := s.AcquireSlot(ctx, slot(h, 100, 1))
			if err != nil {
				t.Fatal(err)
			}
			if got.Granted {
				granted++
			} else if got.Wait <= 0 || got.WaitingFor != models.WaitingForRateLimit {
				t.Fatalf("%s refused without a wait: %+v", h, got)
			}
		}
		if granted != 1 {
			t.Fatalf("%d late waiters sent at once, want 1", granted)
		}
	})
}

func TestLimiterAdaptsToThrottling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.AcquireSlot(ctx, slot("a", 10, 8)); err != nil {
			t.Fatal(err)
		}
		first := time.Now()
		if _, err := s.ReleaseSlot(ctx, w1, "a", 8, store.Throttled); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReleaseSlot(ctx, w1, "b", 8, store.Throttled); err != nil {
			t.Fatal(err)
		}
		st, err := s.WebhookLimiter(ctx, w1)
		if err != nil || st.Throttled != 2 {
			t.Fatalf("after two throttling answers: %+v %v", st, err)
		}
		// The second answer came within the second: one halving.
		if time.Since(first) < 900*time.Millisecond && st.AdaptiveRate != 4 {
			t.Fatalf("two throttling answers within a second under rateLimit 8: rate %v, want 4", st.AdaptiveRate)
		}
		base := st.AdaptiveRate
		// Additive increase: 8/20 per success back up to 8, then lifted.
		for i := range 16 {
			if _, err := s.ReleaseSlot(ctx, w1, "c", 8, store.Success); err != nil {
				t.Fatal(err)
			}
			st, _ = s.WebhookLimiter(ctx, w1)
			if i == 0 && (st.AdaptiveRate < base+0.39 || st.AdaptiveRate > base+0.41) {
				t.Fatalf("one success: %v", st.AdaptiveRate)
			}
		}
		if st.AdaptiveRate != 0 {
			t.Fatalf("16 successes later the rate is still %v", st.AdaptiveRate)
		}
		// With no rateLimit the floor still holds (a second apart: one
		// halving a second).
		for range 4 {
			if _, err := s.ReleaseSlot(ctx, w2, "z", 0, store.Throttled); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		if st, _ := s.WebhookLimiter(ctx, w2); st.AdaptiveRate != store.MinAdaptiveRate {
			t.Fatalf("floor: %v", st.AdaptiveRate)
		}
	})
}

// TestLimiterRespacesSlotsAsTheAdaptiveRateRises: requests waiting for
// their rate slots, reserved while a throttling answer had halved the
// rate, come nearer as successes raise it back (each keeps its place, at
// the new spacing), instead of each waiting out the slowest rate's slot;
// a halving moves them away again, so that ups and downs never bunch
// them. Under an adaptive rate a waiter far back asks again before its
// slot, as soon as the slot could have come nearer. With no rate left at
// all, the line goes.
func TestLimiterRespacesSlotsAsTheAdaptiveRateRises(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		ask := func(webhook, holder string, rate float64) store.Slot {
			t.Helper()
			got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: uuid.NewString(), WebhookID: webhook, Holder: holder,
				MaxConcurrency: 100, RateLimit: rate, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		release := func(webhook string, rate float64, fb store.Feedback) {
			t.Helper()
			if _, err := s.ReleaseSlot(ctx, webhook, "done", rate, fb); err != nil {
				t.Fatal(err)
			}
		}
		slots := func(webhook string) []int64 {
			t.Helper()
			var at []int64
			if err := s.Raw(ctx, &at, "SELECT start_at FROM webhook_reservations WHERE webhook_id = ? ORDER BY start_at", webhook); err != nil {
				t.Fatal(err)
			}
			return at
		}
		// The gaps between the slots from the third on: slots 0-1 are
		// at most a few seconds away, and a slot that passes stays where
		// it is, so on a slow machine they may not move with the rest.
		gapsApart := func(want, tolerance int64, when string) {
			t.Helper()
			at := slots(w1)
			for i := 3; i < len(at); i++ {
				if gap := at[i] - at[i-1]; gap < want-tolerance || gap > want+tolerance {
					t.Fatalf("%s: slots %v, gap %d is %d µs, want %d", when, at, i, gap, want)
				}
			}
		}

		// rateLimit 0.5/s, halved to 0.25/s by a throttling answer: five
		// waiters reserve slots 4 s apart, the first about 4 s away (the
		// halving stretched the next slot, 2 s away at 0.5/s, to 4 s).
		if got := ask(w1, "first", 0.5); !got.Granted {
			t.Fatalf("first: %+v", got)
		}
		release(w1, 0.5, store.Throttled)
		var last store.Slot
		asked := store.Now().UnixMicro()
		for i := range 5 {
			if last = ask(w1, fmt.Sprintf("waiter-%d", i), 0.5); last.Granted {
				t.Fatalf("waiter %d granted: %+v", i, last)
			}
		}
		before := slots(w1)
		for i := 1; i < len(before); i++ {
			if len(before) != 5 || before[i]-before[i-1] != 4_000_000 {
				t.Fatalf("reserved slots %v, want 5 slots 4 s apart", before)
			}
		}
		// The last slot is about 20 s away; at half the rate it comes back
		// to, it may come no nearer than half that: the waiter looks again
		// then, not at the slot.
		if away := time.Duration(before[4]-asked) * time.Microsecond; last.Wait > away/2+time.Millisecond || last.Wait < 4*time.Second {
			t.Fatalf("the last waiter, its slot %v away, waits %v; want half of that under an adaptive rate at half its target", away, last.Wait)
		}
		// One success: 0.25/s becomes 0.35/s (a twentieth of the rate it
		// came down from, at least 0.1): the slots close up by 0.25/0.35.
		release(w1, 0.5, store.Success)
		gapsApart(4_000_000*5/7, 2, "after one success")
		for i, at := range slots(w1) {
			if at > before[i] {
				t.Fatalf("slot %d moved later: %d after %d", i, at, before[i])
			}
		}
		// Back at the rateLimit (0.5/s) after two more: 2 s apart.
		release(w1, 0.5, store.Success)
		release(w1, 0.5, store.Success)
		if st, err := s.WebhookLimiter(ctx, w1); err != nil || st.AdaptiveRate != 0 {
			t.Fatalf("adaptive rate after three successes: %+v %v, want lifted", st, err)
		}
		gapsApart(2_000_000, 10, "back at rateLimit 0.5/s")
		// Halved again (a second after the first halving, as a halving
		// must be): 4 s apart again, not bunched at 2 s; and up again.
		time.Sleep(time.Second)
		release(w1, 0.5, store.Throttled)
		gapsApart(4_000_000, 20, "halved again")
		release(w1, 0.5, store.Success)
		gapsApart(4_000_000*5/7, 30, "and one success")

		// No rateLimit: once the adaptive rate is lifted, nothing limits
		// the rate, and the line goes.
		if got := ask(w2, "first", 0); !got.Granted {
			t.Fatalf("first without a rate: %+v", got)
		}
		release(w2, 0, store.Throttled) // about 1/s seen: 0.5/s
		ask(w2, "next", 0)              // the first slot at the new rate is now
		for i := range 3 {
			if got := ask(w2, fmt.Sprintf("waiter-%d", i), 0); got.Granted {
				t.Fatalf("w2 waiter %d granted: %+v", i, got)
			}
		}
		for range 5 {
			release(w2, 0, store.Success)
		}
		if at := slots(w2); len(at) != 0 {
			t.Fatalf("slots %v after the adaptive rate was lifted with no rateLimit, want none", at)
		}
		if got := ask(w2, "waiter-2", 0); !got.Granted {
			t.Fatalf("a waiter asking once no rate is left: %+v", got)
		}
	})
}

// TestLimiterConcurrencyWaitersInOrder: a freed slot goes to the oldest
// waiter, whichever process asks first (a newcomer polls sooner than a
// waiter that has backed off), and a waiter far from its turn is told to
// come back later than the one next in line.
func TestLimiterConcurrencyWaitersInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0) // served in order at once, not after 2 s
		if got, err := s.AcquireSlot(ctx, slot("busy", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		var waits []time.Duration
		for i := range 8 {
			got, err := s.AcquireSlot(ctx, slot(fmt.Sprintf("w%d", i), 1, 0))
			if err != nil || got.Granted || got.WaitingFor != models.WaitingForConcurrency {
				t.Fatalf("waiter %d: %+v %v", i, got, err)
			}
			waits = append(waits, got.Wait)
		}
		if waits[0] <= 0 || waits[7] <= waits[0] {
			t.Fatalf("polls %v: the last in line should come back later than the first", waits)
		}
		if _, err := s.ReleaseSlot(ctx, w1, "busy", 0, store.Neutral); err != nil {
			t.Fatal(err)
		}
		// The newest waiter, and a newcomer, ask first: the slot is w0's.
		for _, h := range []string{"w7", "newcomer", "w1"} {
			if got, err := s.AcquireSlot(ctx, slot(h, 1, 0)); err != nil || got.Granted {
				t.Fatalf("%s took the slot the oldest waiter is owed: %+v %v", h, got, err)
			}
		}
		for i := range 8 {
			h := fmt.Sprintf("w%d", i)
			if got, err := s.AcquireSlot(ctx, slot(h, 1, 0)); err != nil || !got.Granted {
				t.Fatalf("%s, oldest in line: %+v %v", h, got, err)
			}
			if got, _ := s.AcquireSlot(ctx, slot("newcomer", 1, 0)); got.Granted {
				t.Fatalf("the newcomer got in while %s held the slot", h)
			}
			if _, err := s.ReleaseSlot(ctx, w1, h, 0, store.Neutral); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.AcquireSlot(ctx, slot("newcomer", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("the newcomer, last in line: %+v %v", got, err)
		}
	})
}

// TestLimiterReleaseWakesTheOldestWaiter: a request that ends names the
// concurrency waiter its freed slot should wake, the oldest in line first;
// two requests ending before anyone asks wake two waiters, not the same
// one twice; a woken waiter refused before the limiter (KeepWaiting) stays
// woken, so the next request to end wakes the one behind it; a woken
// waiter that asks and is refused (a newcomer took the slot within the
// patience) may be woken again; with nobody waiting, nobody is named.
func TestLimiterReleaseWakesTheOldestWaiter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0) // served in order at once, not after 2 s
		webhook := w1
		acquire := func(h string, granted bool) {
			t.Helper()
			r := slot(h, 2, 0)
			r.WebhookID = webhook
			got, err := s.AcquireSlot(ctx, r)
			if err != nil || got.Granted != granted || (!granted && got.WaitingFor != models.WaitingForConcurrency) {
				t.Fatalf("%s: %+v %v, want granted %v", h, got, err, granted)
			}
		}
		release := func(h string, fb store.Feedback, want string) {
			t.Helper()
			wake, err := s.ReleaseSlot(ctx, webhook, h, 0, fb)
			if err != nil || wake != want {
				t.Fatalf("%s ended: woke %q %v, want %q", h, wake, err, want)
			}
		}
		acquire("a", true)
		acquire("b", true)
		for _, h := range []string{"w0", "w1", "w2"} {
			acquire(h, false)
		}
		release("a", store.Success, "w0")
		release("b", store.Neutral, "w1") // w0 is woken and has not asked yet
		acquire("w2", false)              // behind w0 and w1, who are owed both slots
		acquire("w0", true)
		acquire("w1", true)
		release("w0", store.Neutral, "w2")
		if err := s.KeepWaiting(ctx, "", webhook, "w2", time.Second); err != nil {
			t.Fatal(err)
		}
		acquire("c", false)               // behind w2
		release("w1", store.Success, "c") // w2 was woken and has not asked
		acquire("w2", true)
		acquire("c", true)
		acquire("d", false)
		release("gone", store.Success, "") // no lease: nothing was freed, d sleeps on
		release("w2", store.Success, "d")
		release("c", store.Success, "") // d is woken and has not asked

		// Within the patience a newcomer may take the slot first; the
		// woken waiter it overtook asks, is refused, and is woken again.
		s.SetWaiterPatience(time.Minute) // however slow the machine
		webhook = w2
		acquire("a", true)
		acquire("b", true)
		acquire("late", false)
		release("a", store.Success, "late")
		acquire("newcomer", true)
		acquire("late", false)
		release("b", store.Success, "late")
	})
}

// TestLimiterRaisedLimitWakesTheOldestWaiters: a maxConcurrency raised
// by n wakes the deliveries of the n oldest waiters that a freed slot
// would wake, oldest first; the next request to end wakes the one behind
// them. (Deliveries waiting with no place in line: the dispatch tests.)
func TestLimiterRaisedLimitWakesTheOldestWaiters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		if got, err := s.AcquireSlot(ctx, slot("busy", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		for _, h := range []string{"w0/1/r", "w1/1/r", "w2/1/r", "w3/1/r"} {
			if got, err := s.AcquireSlot(ctx, slot(h, 1, 0)); err != nil || got.Granted {
				t.Fatalf("%s: %+v %v", h, got, err)
			}
		}
		woken, err := s.PickConcurrencyWaiters(ctx, w1, 2)
		if err != nil || !slices.Equal(woken, []string{"w0", "w1"}) {
			t.Fatalf("raised by 2: woke %v %v, want w0 and w1", woken, err)
		}
		if wake, err := s.ReleaseSlot(ctx, w1, "busy", 0, store.Success); err != nil || wake != "w2/1/r" {
			t.Fatalf("busy ended: woke %q %v, want w2", wake, err)
		}
		if woken, err := s.PickConcurrencyWaiters(ctx, w1, 5); err != nil || !slices.Equal(woken, []string{"w3"}) {
			t.Fatalf("raised by 5: woke %v %v, want w3 alone", woken, err)
		}
	})
}

// TestLimiterRateWaiterIsNotWoken: a waiter that got past the concurrency
// limit but was refused for its rate slot asks at that slot's time; a
// freed concurrency slot does not wake it.
func TestLimiterRateWaiterIsNotWoken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		webhook := uuid.NewString()
		ask := func(h string, maxConc int, rate float64) store.Slot {
			t.Helper()
			r := slot(h, maxConc, rate)
			r.WebhookID = webhook
			got, err := s.AcquireSlot(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := ask("a", 1, 0.05); !got.Granted {
			t.Fatalf("a: %+v", got)
		}
		if got := ask("r", 1, 0.05); got.WaitingFor != models.WaitingForConcurrency {
			t.Fatalf("r, with a in flight: %+v", got)
		}
		if wake, err := s.ReleaseSlot(ctx, webhook, "a", 0.05, store.Success); err != nil || wake != "r" {
			t.Fatalf("a ended: woke %q %v, want r", wake, err)
		}
		if got := ask("r", 1, 0.05); got.WaitingFor != models.WaitingForRateLimit {
			t.Fatalf("r, woken, 20 s after a under 0.05/s: %+v", got)
		}
		// A request that ignores the rate (its webhook's rateLimit just
		// removed, say) takes the second slot and ends.
		if got := ask("z", 2, 0); !got.Granted {
			t.Fatalf("z: %+v", got)
		}
		if wake, err := s.ReleaseSlot(ctx, webhook, "z", 0, store.Success); err != nil || wake != "" {
			t.Fatalf("z ended: woke %q %v, want nobody (r waits for its rate slot)", wake, err)
		}
	})
}

// TestLimiterWakesOnlyPunctualWaiters: a waiter more than 5 s late for
// its poll (a busy worker; a delivery cancelled without leaving the line)
// is passed over for the next in line, as AcquireSlot passes it over
// when counting who is owed a slot.
func TestLimiterWakesOnlyPunctualWaiters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		webhook := uuid.NewString()
		ask := func(h string) store.Slot {
			t.Helper()
			r := slot(h, 1, 0)
			r.WebhookID = webhook
			got, err := s.AcquireSlot(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := ask("a"); !got.Granted {
			t.Fatalf("a: %+v", got)
		}
		if got := ask("on-time"); got.Granted {
			t.Fatalf("on-time: %+v", got)
		}
		// First in line, its poll due 10 s ago: its place lapses in 20 s.
		now := store.Now().UnixMicro()
		if err := s.Exec(ctx, "INSERT INTO webhook_waiters (webhook_id, holder, queued_at, expires_at) VALUES (?, ?, ?, ?)",
			webhook, "late", now-60_000_000, now+20_000_000); err != nil {
			t.Fatal(err)
		}
		if wake, err := s.ReleaseSlot(ctx, webhook, "a", 0, store.Success); err != nil || wake != "on-time" {
			t.Fatalf("a ended: woke %q %v, want on-time (late is late)", wake, err)
		}
	})
}

// TestLimiterReleaseSurvivesAFailedPick: when the waiter to wake cannot
// be picked (here a trigger makes every change of webhook_waiters fail),
// the slot is still released and the answer still adapts the rate; the
// error says the wake-up was lost.
func TestLimiterReleaseSurvivesAFailedPick(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		if got, err := s.AcquireSlot(ctx, slot("a", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("a: %+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, slot("w", 1, 0)); err != nil || got.Granted {
			t.Fatalf("w: %+v %v", got, err)
		}
		failing := []string{
			`CREATE TRIGGER waiters_fail BEFORE UPDATE ON webhook_waiters BEGIN SELECT RAISE(ABORT, 'no waiter today'); END`,
		}
		if s.Dialect() == store.Postgres {
			failing = []string{
				`CREATE FUNCTION waiters_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no waiter today'; END $$`,
				`CREATE TRIGGER waiters_fail BEFORE UPDATE ON webhook_waiters FOR EACH ROW EXECUTE FUNCTION waiters_fail()`,
			}
		}
		for _, q := range failing {
			if err := s.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		wake, err := s.ReleaseSlot(ctx, w1, "a", 0, store.Throttled)
		if !errors.Is(err, store.ErrWakeLost) || wake != "" {
			t.Fatalf("a ended with the pick failing: woke %q, %v; want nobody and ErrWakeLost", wake, err)
		}
		st, err := s.WebhookLimiter(ctx, w1)
		if err != nil || st.InFlight != 0 || st.Throttled != 1 {
			t.Fatalf("after the release: %+v %v, want nothing in flight and the 429 counted", st, err)
		}
	})
}

// TestLimiterReleasesTogetherWakeEachWaiterOnce: eight requests ending
// at once, with eight waiters in line, wake all eight, each once.
func TestLimiterReleasesTogetherWakeEachWaiterOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		const n = 8
		for i := range n {
			if got, err := s.AcquireSlot(ctx, slot(fmt.Sprintf("busy%d", i), n, 0)); err != nil || !got.Granted {
				t.Fatalf("%+v %v", got, err)
			}
		}
		for i := range n {
			if got, err := s.AcquireSlot(ctx, slot(fmt.Sprintf("w%d", i), n, 0)); err != nil || got.Granted {
				t.Fatalf("%+v %v", got, err)
			}
		}
		var mu sync.Mutex
		woken := map[string]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				wake, err := s.ReleaseSlot(ctx, w1, fmt.Sprintf("busy%d", i), 0, store.Success)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				woken[wake]++
				mu.Unlock()
			})
		}
		wg.Wait()
		for i := range n {
			if h := fmt.Sprintf("w%d", i); woken[h] != 1 {
				t.Errorf("%s woken %d times, want once: %v", h, woken[h], woken)
			}
		}
	})
}

// TestLimiterKeepWaitingShowsTheWait: a send refused before it reaches
// the limiter (its tenant's share, the webhook's gate) marks its delivery
// as waiting for concurrency, as a refusal by AcquireSlot does, whether or
// not it has a place in line; the grant clears it.
func TestLimiterKeepWaitingShowsTheWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		w := newWebhook("refused")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		ev := newEvent("evt-refused", now)
		d := newDelivery(ev, w.ID, models.DeliveryPending, now)
		if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second refusal finds it marked
			if err := s.KeepWaiting(ctx, d.ID, w.ID, "no-place", time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := mustDelivery(t, s, d.ID); got.WaitingFor != models.WaitingForConcurrency {
				t.Fatalf("after a refusal before the limiter, waitingFor = %q", got.WaitingFor)
			}
		}
		if st, err := s.WebhookLimiter(ctx, w.ID); err != nil || st.Waiting[models.WaitingForConcurrency] != 1 {
			t.Fatalf("limiter state %+v %v: want one delivery waiting for concurrency", st, err)
		}
		r := store.SlotRequest{DeliveryID: d.ID, WebhookID: w.ID, Holder: "no-place", MaxConcurrency: 1, Lease: time.Minute}
		if got, err := s.AcquireSlot(ctx, r); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		if got := mustDelivery(t, s, d.ID); got.WaitingFor != "" {
			t.Fatalf("granted, waitingFor = %q", got.WaitingFor)
		}
		// A refusal's write that lands late (after the grant) does not mark
		// a delivery that is being sent; without a delivery it marks none.
		for _, id := range []string{d.ID, ""} {
			if err := s.KeepWaiting(ctx, id, w.ID, "no-place", time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := mustDelivery(t, s, d.ID); got.WaitingFor != "" {
				t.Fatalf("a late refusal marked a %s delivery: waitingFor = %q", got.Status, got.WaitingFor)
			}
		}
	})
}

// TestLimiterRefusalMarksOnlyAnOpenDelivery: a refusal marks an open
// delivery waiting, with a place in line, and leaves one that finished
// meanwhile (a late refusal) as it is, with no place.
func TestLimiterRefusalMarksOnlyAnOpenDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		w := newWebhook("full")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		delivery := func(id string, status models.DeliveryStatus) models.Delivery {
			ev := newEvent(id, now)
			d := newDelivery(ev, w.ID, status, now)
			if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			return d
		}
		busy := delivery("evt-busy", models.DeliveryPending)
		request := func(d models.Delivery) store.SlotRequest {
			return store.SlotRequest{DeliveryID: d.ID, WebhookID: w.ID, Holder: d.ID, MaxConcurrency: 1, Lease: time.Minute}
		}
		if got, err := s.AcquireSlot(ctx, request(busy)); err != nil || !got.Granted {
			t.Fatalf("first request: %+v %v", got, err)
		}
		for _, c := range []struct {
			status models.DeliveryStatus
			want   models.WaitingFor
		}{
			{models.DeliveryPending, models.WaitingForConcurrency},
			{models.DeliveryAwaitingRetry, models.WaitingForConcurrency},
			{models.DeliveryDelivering, models.WaitingForConcurrency}, // a restarted run's new slot request
			{models.DeliveryCancelled, ""},
			{models.DeliverySucceeded, ""},
		} {
			d := delivery("evt-"+string(c.status), c.status)
			if got, err := s.AcquireSlot(ctx, request(d)); err != nil || got.Granted || got.WaitingFor != models.WaitingForConcurrency {
				t.Fatalf("%s: %+v %v, want a refusal for concurrency", c.status, got, err)
			}
			if got := mustDelivery(t, s, d.ID); got.WaitingFor != c.want || got.Status != c.status {
				t.Errorf("a refused %s delivery: waitingFor %q, status %s; want %q", c.status, got.WaitingFor, got.Status, c.want)
			}
			// An open delivery takes a place in line; a finished one none.
			var places int64
			if err := s.Raw(ctx, &places, "SELECT count(*) FROM webhook_waiters WHERE webhook_id = ? AND holder = ?", w.ID, d.ID); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 1, false: 0}[c.want != ""]; places != want {
				t.Errorf("a refused %s delivery has %d places in line, want %d", c.status, places, want)
			}
		}
		// A waiter refused again while its delivery is open keeps its
		// place (and its time in line); one whose delivery finished
		// meanwhile loses it at that refusal, rather than when the place
		// expires.
		queued := delivery("evt-queued", models.DeliveryPending)
		queuedAt := func() (at []int64) {
			t.Helper()
			if err := s.Raw(ctx, &at, "SELECT queued_at FROM webhook_waiters WHERE webhook_id = ? AND holder = ?", w.ID, queued.ID); err != nil {
				t.Fatal(err)
			}
			return at
		}
		var first []int64
		for i := range 2 {
			if got, err := s.AcquireSlot(ctx, request(queued)); err != nil || got.Granted {
				t.Fatalf("queued, refusal %d: %+v %v", i+1, got, err)
			}
			if i == 0 {
				first = queuedAt()
			}
		}
		if at := queuedAt(); len(first) != 1 || !slices.Equal(at, first) {
			t.Fatalf("a waiter refused twice while open is in line at %v, first at %v; want one place, kept", at, first)
		}
		if err := s.Exec(ctx, "UPDATE deliveries SET status = ? WHERE id = ?", models.DeliveryCancelled, queued.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSlot(ctx, request(queued)); err != nil || got.Granted {
			t.Fatalf("queued, cancelled: %+v %v", got, err)
		}
		if at := queuedAt(); len(at) != 0 {
			t.Errorf("a waiter whose delivery was cancelled kept its place in line (queued at %v)", at)
		}
	})
}

// TestLimiterKeepWaiting runs KeepWaiting's statement on both dialects: a
// kept waiter stays first in line, and keeping a request with no place
// gives it none (TestSendRefusedAtTheGateKeepsItsPlace, in activities,
// shows the place outliving the late grace).
func TestLimiterKeepWaiting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		if got, err := s.AcquireSlot(ctx, slot("busy", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, slot("queued", 1, 0)); err != nil || got.Granted {
			t.Fatalf("%+v %v", got, err)
		}
		// Kept for a poll as long as waiterMargin: the place would lapse
		// now were it not kept.
		for _, h := range []string{"queued", "stranger"} {
			if err := s.KeepWaiting(ctx, uuid.NewString(), w1, h, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.ReleaseSlot(ctx, w1, "busy", 0, store.Neutral); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSlot(ctx, slot("stranger", 1, 0)); err != nil || got.Granted {
			t.Fatalf("a request with no place took the queued waiter's slot: %+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, slot("queued", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("the queued waiter: %+v %v", got, err)
		}
	})
}

// TestLimiterCountsSkipExpiredRows: AcquireSlot reads leases, waiters and
// the holder's reservation in one query: rows past their time count for
// nothing there (an expired lease holds no slot, an expired waiter is
// owed none, an own place or reservation expired is taken anew) and are
// deleted before anything is written.
func TestLimiterCountsSkipExpiredRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.SetWaiterPatience(0)
		now := store.Now().UnixMicro()
		hour := time.Hour.Microseconds()
		for _, q := range []string{
			// A killed sender's lease, a waiter gone an hour ago (first
			// in line), and the place of one that comes back too late.
			fmt.Sprintf("INSERT INTO webhook_leases (webhook_id, holder, expires_at) VALUES ('%s', 'killed', %d)", w1, now-1),
			fmt.Sprintf("INSERT INTO webhook_waiters (webhook_id, holder, queued_at, expires_at) VALUES ('%s', 'ghost', %d, %d)", w1, now-2*hour, now-hour),
			fmt.Sprintf("INSERT INTO webhook_waiters (webhook_id, holder, queued_at, expires_at) VALUES ('%s', 'back', %d, %d)", w1, now-2*hour, now-1),
			// A reservation two hours old, of a request that never came back.
			fmt.Sprintf("INSERT INTO webhook_reservations (webhook_id, holder, start_at) VALUES ('%s', 'stale', %d)", w1, now-2*hour),
		} {
			if err := s.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		count := func(table, holder string) int64 {
			t.Helper()
			var n int64
			if err := s.Raw(ctx, &n, "SELECT count(*) FROM "+table+" WHERE webhook_id = ? AND holder = ?", w1, holder); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Under a cap of 1, the expired lease and the expired waiters
		// leave the slot to the first to ask.
		if got, err := s.AcquireSlot(ctx, slot("first", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("first, with only expired rows: %+v %v", got, err)
		}
		if count("webhook_leases", "killed") != 0 {
			t.Fatal("the expired lease was not deleted")
		}
		// back returns: it queues anew, behind a waiter that came before it.
		if got, err := s.AcquireSlot(ctx, slot("early", 1, 0)); err != nil || got.Granted {
			t.Fatalf("early: %+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, slot("back", 1, 0)); err != nil || got.Granted {
			t.Fatalf("back: %+v %v", got, err)
		}
		if count("webhook_waiters", "ghost") != 0 {
			t.Fatal("the expired waiter was not deleted")
		}
		if _, err := s.ReleaseSlot(ctx, w1, "first", 0, store.Success); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AcquireSlot(ctx, slot("back", 1, 0)); err != nil || got.Granted {
			t.Fatalf("back overtook early with the place it had lost: %+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, slot("early", 1, 0)); err != nil || !got.Granted {
			t.Fatalf("early, first in line: %+v %v", got, err)
		}
		if count("webhook_waiters", "early") != 0 {
			t.Fatal("a granted waiter kept its place")
		}
		// A rate slot: the stale reservation is no slot of anyone's, and
		// it is deleted.
		if got, err := s.AcquireSlot(ctx, slot("r0", 100, 1)); err != nil || !got.Granted {
			t.Fatalf("r0: %+v %v", got, err)
		}
		if count("webhook_reservations", "stale") != 0 {
			t.Fatal("the stale reservation was not deleted")
		}
		if got, err := s.AcquireSlot(ctx, slot("r1", 100, 1)); err != nil || got.Granted || got.Wait < 500*time.Millisecond {
			t.Fatalf("r1, a second after r0: %+v %v", got, err)
		}
		if count("webhook_reservations", "r0") != 0 || count("webhook_reservations", "r1") != 1 {
			t.Fatal("want r1's reservation only (r0 was granted at once)")
		}
		if st, err := s.WebhookLimiter(ctx, w1); err != nil || st.InFlight != 2 {
			t.Fatalf("in flight: %+v %v (early and r0)", st, err)
		}
	})
}

// TestLimiterGivesBackCancelledDeliveriesSlots: the rate slots reserved
// by deliveries cancelled while they waited (their webhook was disabled)
// are given back once no other request holds one, so that the webhook,
// enabled again, does not wait for slots of deliveries that are gone; while
// another request still holds one, no slot is handed out twice.
func TestLimiterGivesBackCancelledDeliveriesSlots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		ask := func(d string) store.Slot {
			t.Helper()
			got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: d, WebhookID: w1, Holder: d + "/1/run",
				MaxConcurrency: 100, RateLimit: 1, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		cancel := func(ds ...string) {
			t.Helper()
			for _, d := range ds {
				// No delivery row: the record has nothing else to write.
				if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d, WebhookID: w1, DeliveryStatus: models.DeliveryCancelled}); err != nil {
					t.Fatal(err)
				}
			}
		}
		reserved := func() int64 {
			t.Helper()
			var n int64
			if err := s.Raw(ctx, &n, "SELECT count(*) FROM webhook_reservations WHERE webhook_id = ?", w1); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := ask(uuid.NewString()); !got.Granted {
			t.Fatalf("first: %+v", got)
		}
		waiters := make([]string, 5)
		for i := range waiters {
			waiters[i] = uuid.NewString()
			if got := ask(waiters[i]); got.Granted {
				t.Fatalf("waiter %d granted at 1/s: %+v", i, got)
			}
		}
		// Four of five cancelled: the fifth's slot (about 1 s away) stays,
		// so tat stays where it is and a newcomer waits behind all five.
		cancel(waiters[1:]...)
		if n := reserved(); n != 1 {
			t.Fatalf("%d reservations after four of five were cancelled, want 1", n)
		}
		late := uuid.NewString()
		if got := ask(late); got.Granted || got.Wait < 4*time.Second {
			t.Fatalf("a newcomer while one waiter holds its slot: %+v, want a wait of 5 s or so", got)
		}
		// The last two cancelled: the slots come back; a newcomer waits
		// only for the spacing after the one request sent.
		cancel(waiters[0], late)
		if n := reserved(); n != 0 {
			t.Fatalf("%d reservations after every waiter was cancelled, want 0", n)
		}
		if got := ask(uuid.NewString()); !got.Granted && got.Wait > 1500*time.Millisecond {
			t.Fatalf("a newcomer after every waiter was cancelled: %+v, want at most the 1 s spacing", got)
		}

		// A cancelled concurrency waiter leaves the line.
		line := func() int64 {
			t.Helper()
			var n int64
			if err := s.Raw(ctx, &n, "SELECT count(*) FROM webhook_waiters WHERE webhook_id = ?", w2); err != nil {
				t.Fatal(err)
			}
			return n
		}
		busy, queued := slot("busy", 1, 0), uuid.NewString()
		busy.WebhookID = w2
		if got, err := s.AcquireSlot(ctx, busy); err != nil || !got.Granted {
			t.Fatalf("busy: %+v %v", got, err)
		}
		if got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: queued, WebhookID: w2, Holder: queued + "/1/run",
			MaxConcurrency: 1, Lease: time.Minute}); err != nil || got.Granted {
			t.Fatalf("queued: %+v %v", got, err)
		}
		if n := line(); n != 1 {
			t.Fatalf("%d in line, want 1", n)
		}
		if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: queued, WebhookID: w2, DeliveryStatus: models.DeliveryCancelled}); err != nil {
			t.Fatal(err)
		}
		if n := line(); n != 0 {
			t.Fatalf("%d in line after the waiter was cancelled, want 0", n)
		}

		// A webhook disabled: every reservation goes at once.
		for range 5 {
			ask(uuid.NewString())
		}
		if err := s.DropRateReservations(ctx, w1, ""); err != nil {
			t.Fatal(err)
		}
		if n := reserved(); n != 0 {
			t.Fatalf("%d reservations after the webhook's were dropped, want 0", n)
		}
		if got := ask(uuid.NewString()); !got.Granted && got.Wait > 2500*time.Millisecond {
			t.Fatalf("a newcomer after the webhook's reservations were dropped: %+v, want at most 2 s of spacing", got)
		}
	})
}

// TestLimiterFollowsAnEditedRateLimit: an edit of a webhook's rateLimit moves
// the rate slots reserved under the old one (nearer when raised, away when
// lowered, gone when removed), so that waiting requests go at the new rate;
// an edit that leaves the rate alone moves nothing.
func TestLimiterFollowsAnEditedRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		w := newWebhook("edited-rate")
		w.RateLimit = 0.25
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		ask := func(d string) store.Slot {
			t.Helper()
			got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: d, WebhookID: w.ID, Holder: d + "/1/run",
				MaxConcurrency: 100, RateLimit: w.RateLimit, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		slots := func() []int64 {
			t.Helper()
			var at []int64
			if err := s.Raw(ctx, &at, "SELECT start_at FROM webhook_reservations WHERE webhook_id = ? ORDER BY start_at", w.ID); err != nil {
				t.Fatal(err)
			}
			return at
		}
		// The gaps between the slots from the second on: the first is the
		// nearest, and a slot that has come stays where it is, so on a
		// slow machine it may not move with the rest.
		apart := func(want int64, when string) {
			t.Helper()
			at := slots()
			if len(at) != 5 {
				t.Fatalf("%s: %d reserved slots, want 5", when, len(at))
			}
			for i := 2; i < len(at); i++ {
				if gap := at[i] - at[i-1]; gap < want-3 || gap > want+3 {
					t.Fatalf("%s: slots %v, gap %d is %d µs, want %d", when, at, i, gap, want)
				}
			}
		}
		edit := func(change func(*models.Webhook)) {
			t.Helper()
			was := w.Version
			change(w)
			w.Version = was + 0.1 // as the webhooks service bumps it
			if err := s.UpdateWebhook(ctx, w, was, w.Enabled); err != nil {
				t.Fatal(err)
			}
		}

		if got := ask(uuid.NewString()); !got.Granted {
			t.Fatalf("first: %+v", got)
		}
		for i := range 5 {
			if got := ask(uuid.NewString()); got.Granted {
				t.Fatalf("waiter %d granted at 0.25/s: %+v", i, got)
			}
		}
		apart(4_000_000, "at 0.25/s")
		before := slots()

		edit(func(w *models.Webhook) { w.Description = "no change of rate" })
		if fmt.Sprint(slots()) != fmt.Sprint(before) {
			t.Fatalf("an edit that kept the rate moved the slots: %v, were %v", slots(), before)
		}
		edit(func(w *models.Webhook) { w.RateLimit = 1 })
		apart(1_000_000, "raised to 1/s")
		if last := slots()[4]; last >= before[4]-10_000_000 {
			t.Fatalf("raised: the last slot at %d, was %d; want about 15 s nearer", last, before[4])
		}
		edit(func(w *models.Webhook) { w.RateLimit = 0.5 })
		apart(2_000_000, "lowered to 0.5/s")
		// The next request queues behind them at the new spacing.
		if got := ask(uuid.NewString()); got.Granted || got.Wait < 5*time.Second || got.Interval != 2*time.Second {
			t.Fatalf("a newcomer behind five slots 2 s apart: %+v, want a wait of 8 s or so at 2 s spacing", got)
		}
		edit(func(w *models.Webhook) { w.RateLimit = 0 })
		if at := slots(); len(at) != 0 {
			t.Fatalf("rateLimit removed: slots %v left, want none", at)
		}
		if got := ask(uuid.NewString()); !got.Granted {
			t.Fatalf("rateLimit removed: %+v, want granted at once", got)
		}

		// A webhook that never had a rate gets no limiter row from an edit.
		fresh := newWebhook("never-limited")
		if err := s.CreateWebhook(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		fresh.RateLimit, fresh.Version = 3, 0.2
		if err := s.UpdateWebhook(ctx, fresh, 0.1, fresh.Enabled); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := s.Raw(ctx, &n, "SELECT count(*) FROM webhook_limiters WHERE webhook_id = ?", fresh.ID); err != nil || n != 0 {
			t.Fatalf("%d limiter rows (%v) after an edit of a webhook that never sent, want 0", n, err)
		}
	})
}
