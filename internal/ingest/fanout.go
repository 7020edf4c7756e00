package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// fanoutBudget is about how many deliveries one FanOut call inserts: at
// ~40 ms a thousand rows (docs/performance.md), ~100 ms of expansion
// before the starter's claims, so that a burst of large fan-outs delays
// everyone's starts by that much per pass, not by seconds. The rest waits
// for the next call, which the starter makes at once (more).
const fanoutBudget = 2000

// fanoutBatch is how many waiting events one FanOut call reads.
const fanoutBatch = 100

// FanOut stores the deliveries of events waiting for them: those a large
// fan-out's event planned at ingest, as planned (they were answered; the
// match is what was true then, as for any event); and those of operational
// events (a webhook started failing, recovered, ...): the tenant's webhooks
// whose filters match, except the webhook the event is about. The outbox
// starter runs it before each pass, so that every api replica helps and
// the deliveries join the outbox in order.
//
// It returns how many events it completed, and more when others may be
// waiting (it stopped at FanoutBudget deliveries, or read a full batch).
// An event that fails is skipped, its error joined to the others: one bad
// event (a plan it cannot read, one of a newer release) must not hold up
// the rest, nor the starter's claims.
func (in *Ingester) FanOut(ctx context.Context) (done int, more bool, err error) {
	evs, err := in.store.PendingFanout(ctx, fanoutBatch)
	if err != nil || len(evs) == 0 {
		return 0, false, err
	}
	budget := cmp.Or(in.FanoutBudget, fanoutBudget)
	inserted := 0
	var errs []error
	for i := range evs {
		if inserted >= budget {
			return done, true, errors.Join(errs...)
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		n, ok, err := in.fanOutOne(ctx, &evs[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inserted += n
		if ok {
			done++
		}
	}
	// A full batch with nothing done is one of events that fail: looking
	// again at once would only fail them again.
	return done, len(evs) == fanoutBatch && done > 0, errors.Join(errs...)
}

// fanOutOne completes ev's fan-out: its plan, or its matches.
func (in *Ingester) fanOutOne(ctx context.Context, ev *models.Event) (int, bool, error) {
	if ev.FanoutPlan != nil {
		n, ok, err := in.store.CompleteFanout(ctx, ev, nil)
		if err != nil {
			return 0, false, fmt.Errorf("planned fan-out of event %s/%s: %w", ev.TenantID, ev.ID, err)
		}
		return n, ok, nil
	}
	fev, err := parse(ev)
	if err != nil {
		return 0, false, fmt.Errorf("operational event %s/%s: %w", ev.TenantID, ev.ID, err)
	}
	hooks, err := in.Matcher.Match(ctx, ev.TenantID, fev)
	if err != nil {
		return 0, false, fmt.Errorf("operational event %s/%s: %w", ev.TenantID, ev.ID, err)
	}
	now := store.Now()
	var ds []models.Delivery
	for _, w := range hooks {
		if ev.SourceWebhookID != nil && w.ID == *ev.SourceWebhookID {
			continue // never about itself
		}
		ds = append(ds, deliveryFor(*ev, w, now))
	}
	n, ok, err := in.store.CompleteFanout(ctx, ev, ds)
	if err != nil {
		return 0, false, fmt.Errorf("operational event %s/%s: %w", ev.TenantID, ev.ID, err)
	}
	return n, ok, nil
}
