package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// WakeRateWaiters tells the deliveries waiting for a rate slot of a webhook
// whose rateLimit was raised or removed to ask again now: each sleeps on a
// durable timer until the slot the old rate gave it, and the edit brought
// that slot nearer (store.UpdateWebhook moves the reserved slots). It works
// in the background, as StopDeliveries does; a waiter it misses (a crash,
// or one that reserved its slot just after the list was read) still asks
// at its old slot's time, no later than before the edit.
func (d *Dispatcher) WakeRateWaiters(ctx context.Context, webhookID string) {
	d.wakeEach(ctx, webhookID, models.WaitingForRateLimit, func(ctx context.Context) ([]string, error) {
		return d.store.RateWaiters(ctx, webhookID)
	})
}

// WakeConcurrencyWaiters tells n deliveries waiting for a concurrency slot
// of a webhook whose maxConcurrency was raised by n to ask again now, the
// oldest in line first (store.PickConcurrencyWaiters picks them): the
// slots the edit added are free, and no request ending will wake anyone
// for them. In the background, as WakeRateWaiters. A waiter it misses
// asks at its next poll, or is woken when a request ends; one picked whose
// signal failed keeps its woken mark, so only at its next poll.
func (d *Dispatcher) WakeConcurrencyWaiters(ctx context.Context, webhookID string, n int) {
	if n <= 0 {
		return
	}
	d.wakeEach(ctx, webhookID, models.WaitingForConcurrency, func(ctx context.Context) ([]string, error) {
		return d.store.PickConcurrencyWaiters(ctx, webhookID, n)
	})
}

// wakeEach signals, in the background, each delivery list names
// LimitsChangedSignal, with at most one warning for the list and one for
// the signals. Those listed before list failed are signalled all the
// same: a concurrency waiter picked is marked woken, and would otherwise
// be woken again only after its next poll. Wake-ups of concurrency
// waiters are counted as WakeWaiter's are.
func (d *Dispatcher) wakeEach(ctx context.Context, webhookID string, why models.WaitingFor, list func(context.Context) ([]string, error)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
	go func() {
		defer cancel()
		ids, err := list(ctx)
		if err != nil {
			d.log.WarnContext(ctx, "list limit waiters", "webhook_id", webhookID, "waiting_for", why, "listed", len(ids), "error", err)
		}
		_, errs := eachRun(ids, func(id string) error {
			err := d.runner.Signal(ctx, workflows.DeliveryWorkflowID(id), workflows.LimitsChangedSignal)
			if why == models.WaitingForConcurrency {
				d.observeWakeUp(wakeUpOutcome(err))
			}
			return err
		})
		// One line per edit, not per waiter: with Temporal down there
		// may be thousands.
		if len(errs) > 0 {
			d.log.WarnContext(ctx, "wake limit waiters", "webhook_id", webhookID, "waiting_for", why, "failed", len(errs), "of", len(ids), "error", errs[0])
		}
	}()
}

// Wake-ups of concurrency waiters (WakeWaiter) are signalled in the
// background, at most maxWakesInFlight at once: past that a wake-up is
// dropped and its waiter finds the slot at its next poll, so a slow or
// unreachable Temporal server piles up no goroutines. Failures are logged
// at most once per wakeLogEvery, with how many were not.
const (
	maxWakesInFlight = 64
	wakeTimeout      = 10 * time.Second
	wakeLogEvery     = 30 * time.Second
)

type waiterWakes struct {
	inFlight chan struct{}
	mu       sync.Mutex
	logged   time.Time
	quiet    int
}

func newWaiterWakes() *waiterWakes {
	return &waiterWakes{inFlight: make(chan struct{}, maxWakesInFlight)}
}

// WakeWaiter tells one delivery waiting for a concurrency slot to ask again
// now, in the background: a request of its webhook ended and freed a slot
// (store.ReleaseSlot picks the waiter), or the webhook's gate or the
// tenant's share in the worker that turned the delivery away has room
// (activities.Sender). A wake-up that fails or is dropped costs the waiter
// only the time to its next poll; one that finds no run (the delivery was
// cancelled meanwhile) is not a failure.
func (d *Dispatcher) WakeWaiter(ctx context.Context, deliveryID string) {
	select {
	case d.waiters.inFlight <- struct{}{}:
	default:
		d.observeWakeUp(telemetry.WakeUpDropped)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wakeTimeout)
	go func() {
		defer func() {
			cancel()
			<-d.waiters.inFlight
		}()
		err := d.runner.Signal(ctx, workflows.DeliveryWorkflowID(deliveryID), workflows.LimitsChangedSignal)
		outcome := wakeUpOutcome(err)
		d.observeWakeUp(outcome)
		if outcome == telemetry.WakeUpFailed {
			d.waiters.failed(ctx, d.log, deliveryID, err)
		}
	}()
}

// wakeUpOutcome is how a wake-up's signal ended, as counted.
func wakeUpOutcome(err error) string {
	switch {
	case err == nil:
		return telemetry.WakeUpSignalled
	case errors.Is(err, ErrNoRun):
		return telemetry.WakeUpEnded
	}
	return telemetry.WakeUpFailed
}

// WakeUpObserver counts wake-ups of concurrency waiters by outcome
// (telemetry.Delivery).
type WakeUpObserver interface {
	ObserveWakeUp(outcome string)
}

func (d *Dispatcher) observeWakeUp(outcome string) {
	if d.WakeUps != nil {
		d.WakeUps.ObserveWakeUp(outcome)
	}
}

// failed logs a failed wake-up, at most once per wakeLogEvery.
func (w *waiterWakes) failed(ctx context.Context, log *slog.Logger, deliveryID string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.logged) >= wakeLogEvery {
		log.WarnContext(ctx, "wake a concurrency waiter; it asks again at its next poll",
			"delivery_id", deliveryID, "error", err, "failures_not_logged", w.quiet)
		w.logged, w.quiet = now, 0
		return
	}
	w.quiet++
}
