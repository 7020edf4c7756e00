package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// TestWakeLimitWaitersSignalsEachWaitingRun: after a webhook's rateLimit is
// raised, and again after it is removed (which drops the reserved slots),
// every delivery waiting for a rate slot is signalled LimitsChangedSignal
// once; a delivery granted at once does not wait and is left alone, and a
// waiter whose run has closed is skipped. After its maxConcurrency is
// raised by n, so are the n oldest deliveries waiting for a concurrency
// slot.
func TestWakeLimitWaitersSignalsEachWaitingRun(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	w, ids := seedOutbox(t, s, 5)
	setRate := func(rate float64) {
		t.Helper()
		was := w.Version
		w.RateLimit, w.Version = rate, was+0.1
		if err := s.UpdateWebhook(ctx, w, was, true); err != nil {
			t.Fatal(err)
		}
	}
	setRate(0.1)
	// Started: a delivery still in the outbox has no run to tell.
	if _, _, err := s.ClaimForStart(ctx, len(ids), 2*len(ids), store.Now()); err != nil {
		t.Fatal(err)
	}
	fake := dispatchtest.New()
	for i, id := range ids {
		got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: id, WebhookID: w.ID, Holder: id + "/1/run",
			MaxConcurrency: 100, RateLimit: w.RateLimit, Lease: time.Minute})
		if err != nil || got.Granted != (i == 0) {
			t.Fatalf("delivery %d: %+v %v, want only the first granted", i, got, err)
		}
		if i < len(ids)-1 {
			fake.SetOpen(runOf("acme", id)) // the last one's run has closed
		}
	}
	var want []string
	for _, id := range ids[1 : len(ids)-1] {
		want = append(want, workflows.DeliveryWorkflowID(id)+": "+workflows.LimitsChangedSignal)
	}
	slices.Sort(want)
	d, _ := newDispatcher(s, fake)
	counted := &wakeUpCounts{n: map[string]int{}}
	d.WakeUps = counted
	woken := func(when string, want []string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got := fake.Signals()
			slices.Sort(got)
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: signals %v, want %v", when, got, want)
			}
		}
		time.Sleep(100 * time.Millisecond) // nothing more comes
		if n := len(fake.Signals()); n != len(want) {
			t.Fatalf("%s: %d signals, want %d", when, n, len(want))
		}
	}
	setRate(1)
	d.WakeRateWaiters(ctx, w.ID)
	woken("raised", want)

	setRate(0) // the reserved slots go with the limit
	d.WakeRateWaiters(ctx, w.ID)
	twice := slices.Sorted(slices.Values(append(slices.Clone(want), want...)))
	woken("removed", twice)

	// maxConcurrency raised by 2, then by plenty: the oldest two
	// deliveries in line for a concurrency slot are woken, then the rest,
	// and one waiting with no place in line (its worker turned it away
	// before it asked). The last one's run has closed.
	for _, id := range []string{ids[1], ids[2], ids[4]} {
		// The first delivery still holds its lease.
		got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: id, WebhookID: w.ID, Holder: id + "/2/run",
			MaxConcurrency: 1, Lease: time.Minute})
		if err != nil || got.WaitingFor != models.WaitingForConcurrency {
			t.Fatalf("%s at maxConcurrency 1: %+v %v", id, got, err)
		}
	}
	if err := s.KeepWaiting(ctx, ids[3], w.ID, ids[3]+"/2/run", time.Second); err != nil {
		t.Fatal(err)
	}
	signalOf := func(id string) string { return workflows.DeliveryWorkflowID(id) + ": " + workflows.LimitsChangedSignal }
	d.WakeConcurrencyWaiters(ctx, w.ID, 2)
	woken("maxConcurrency raised by 2", slices.Sorted(slices.Values(append(slices.Clone(twice), signalOf(ids[1]), signalOf(ids[2])))))
	d.WakeConcurrencyWaiters(ctx, w.ID, 100)
	woken("raised by 100", slices.Sorted(slices.Values(append(slices.Clone(twice), signalOf(ids[1]), signalOf(ids[2]), signalOf(ids[3])))))
	// Counted as a freed slot's wake-ups are, the rate waiters' not: the
	// last delivery's run had ended.
	outcomes := map[string]int{telemetry.WakeUpSignalled: 3, telemetry.WakeUpEnded: 1}
	eventually(t, "the raise's wake-ups were not counted", func() bool { return maps.Equal(counted.snapshot(), outcomes) })
}

// TestRaisedLimitWakesThoseItPickedWhenTheRestFails: the waiters in line
// that a raised maxConcurrency picked (and marked woken) are signalled
// even when the look for deliveries waiting out of line fails after.
func TestRaisedLimitWakesThoseItPickedWhenTheRestFails(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := t.Context()
	w, ids := seedOutbox(t, s, 3)
	if _, _, err := s.ClaimForStart(ctx, len(ids), 2*len(ids), store.Now()); err != nil {
		t.Fatal(err)
	}
	fake := dispatchtest.New()
	for i, id := range ids {
		fake.SetOpen(runOf("acme", id))
		got, err := s.AcquireSlot(ctx, store.SlotRequest{DeliveryID: id, WebhookID: w.ID, Holder: id + "/1/run",
			MaxConcurrency: 1, Lease: time.Minute})
		if err != nil || got.Granted != (i == 0) {
			t.Fatalf("delivery %d: %+v %v, want only the first granted", i, got, err)
		}
	}
	// The look out of line reads deliveries.waiting_for: it fails now.
	storetest.Inspect(t, url).Exec("ALTER TABLE deliveries RENAME COLUMN waiting_for TO waiting_for_gone")
	var logMu sync.Mutex
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.Write(p)
	}), nil))
	d := dispatch.New(s, fake, ingest.NewMatcher(s, 0), log)
	d.WakeConcurrencyWaiters(ctx, w.ID, 5)
	want := []string{workflows.DeliveryWorkflowID(ids[1]) + ": " + workflows.LimitsChangedSignal,
		workflows.DeliveryWorkflowID(ids[2]) + ": " + workflows.LimitsChangedSignal}
	slices.Sort(want)
	eventually(t, "the waiters picked were not signalled", func() bool {
		return slices.Equal(slices.Sorted(slices.Values(fake.Signals())), want)
	})
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logged.String(), "list limit waiters") || !strings.Contains(logged.String(), "listed=2") {
		t.Fatalf("the failed look out of line was not reported: %q", logged.String())
	}
}

// heldSignals is a runner whose signals wait until release is closed, and
// then fail with err (nil: they reach the fake).
type heldSignals struct {
	*dispatchtest.Runner
	release        chan struct{}
	err            atomic.Pointer[error]
	calls, returns atomic.Int32
}

func (h *heldSignals) Signal(ctx context.Context, workflowID, signal string) error {
	h.calls.Add(1)
	defer h.returns.Add(1)
	<-h.release
	if err := h.err.Load(); err != nil {
		return *err
	}
	return h.Runner.Signal(ctx, workflowID, signal)
}

// eventually fails the test unless ok becomes true within 10 s.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// TestWakeWaiterSignalsInTheBackgroundBounded: WakeWaiter returns at once
// and signals the delivery's run limits-changed; a delivery whose run has
// ended is skipped without a warning; with Temporal not answering, at most
// 64 wake-ups wait at once and the rest are dropped (the waiters poll);
// failures are logged once, not once each.
func TestWakeWaiterSignalsInTheBackgroundBounded(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	var logMu sync.Mutex
	var logged bytes.Buffer
	warnings := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.String()
	}
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logged.Write(p)
	}), nil))
	fake := dispatchtest.New()
	held := &heldSignals{Runner: fake, release: make(chan struct{})}
	d := dispatch.New(s, held, ingest.NewMatcher(s, 0), log)
	outcomes := &wakeUpCounts{n: map[string]int{}}
	d.WakeUps = outcomes
	fake.SetOpen(runOf("acme", "open-one"))
	for i := range 100 {
		id := fmt.Sprintf("waiter-%d", i)
		if i == 0 {
			id = "open-one"
		}
		d.WakeWaiter(t.Context(), id) // returns while the signal waits
	}
	if n := d.WakesInFlight(); n != 64 {
		t.Fatalf("%d wake-ups in flight with Temporal not answering, want 64 (the rest dropped)", n)
	}
	close(held.release)
	want := []string{workflows.DeliveryWorkflowID("open-one") + ": " + workflows.LimitsChangedSignal}
	eventually(t, "open-one was not signalled", func() bool { return slices.Equal(fake.Signals(), want) })
	eventually(t, "the wake-ups did not end", func() bool { return held.returns.Load() == held.calls.Load() })
	if n := held.calls.Load(); n < 1 || n > 64 {
		t.Fatalf("%d wake-ups signalled, want 1 to 64 (the rest dropped)", n)
	}
	if w := warnings(); w != "" {
		t.Fatalf("runs that had ended were logged: %s", w)
	}
	want100 := map[string]int{telemetry.WakeUpSignalled: 1, telemetry.WakeUpEnded: 63, telemetry.WakeUpDropped: 36}
	// A wake-up gives back its place after its outcome is counted.
	eventually(t, "the wake-ups were not all counted", func() bool { return d.WakesInFlight() == 0 })
	if got := outcomes.snapshot(); !maps.Equal(got, want100) {
		t.Fatalf("wake-ups counted %v, want %v", got, want100)
	}

	failure := errors.New("temporal unavailable")
	held.err.Store(&failure)
	before := held.returns.Load()
	for i := range 5 {
		d.WakeWaiter(t.Context(), fmt.Sprintf("later-%d", i))
	}
	eventually(t, "the later wake-ups were not tried", func() bool { return held.returns.Load() == before+5 })
	eventually(t, "the failed wake-ups were not all counted", func() bool { return d.WakeFailuresNotLogged() == 4 })
	if n := strings.Count(warnings(), "wake a concurrency waiter"); n != 1 {
		t.Fatalf("%d warnings for 5 failed wake-ups, want 1:\n%s", n, warnings())
	}
	if got := outcomes.snapshot()[telemetry.WakeUpFailed]; got != 5 {
		t.Fatalf("%d failed wake-ups counted, want 5", got)
	}
}

// wakeUpCounts counts wake-ups by outcome, as the delivery metrics do.
type wakeUpCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *wakeUpCounts) ObserveWakeUp(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[outcome]++
}

func (c *wakeUpCounts) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
