package dispatch

import (
	"context"
	"fmt"
	"time"
)

// startProbes sends the due probes of auto-paused webhooks (README "Circuit
// breaker"): each goes back to the outbox alone, and the starter is woken
// for it. Reconcile runs it every minute, so a probe is due to the minute.
func (d *Dispatcher) startProbes(ctx context.Context, now time.Time) error {
	n, err := d.store.StartDueProbes(ctx, now)
	if err != nil {
		return fmt.Errorf("circuit breaker probes: %w", err)
	}
	if n > 0 {
		d.log.InfoContext(ctx, "probing auto-paused webhooks", "webhooks", n)
		d.Wake()
	}
	return nil
}
