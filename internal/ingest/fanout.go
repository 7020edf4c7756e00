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

// fanoutBatch is how many waiting events one FanOut call reads at a time,
// and fanoutPages how many such pages at most: it pages past events that
// fail (plans of a newer release wait at the head for a replica that knows
// them), so that they never hold up the events behind them.
const (
	fanoutBatch = 100
	fanoutPages = 10
)

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
	budget := cmp.Or(in.FanoutBudget, fanoutBudget)
	inserted := 0
	var errs []error
	var after *models.Event
	for range fanoutPages {
		evs, err := in.store.PendingFanoutAfter(ctx, fanoutBatch, after)
		if err != nil {
			return done, false, joinFew(append(errs, err))
		}
		for i := range evs {
			if inserted >= budget {
				return done, true, joinFew(errs)
			}
			if err := ctx.Err(); err != nil {
				return done, false, joinFew(append(errs, err))
			}
			ev := &evs[i]
			n, ok, err := in.fanOutOne(ctx, ev)
			if err != nil {
				what := "operational event"
				if ev.FanoutPlan != nil {
					what = "planned fan-out of event"
				}
				errs = append(errs, fmt.Errorf("%s %s/%s: %w", what, ev.TenantID, ev.ID, err))
				continue
			}
			inserted += n
			if ok {
				done++
			}
		}
		if len(evs) < fanoutBatch {
			return done, false, joinFew(errs)
		}
		after = &evs[len(evs)-1]
	}
	// Pages left unread: look again at once only if this call got
	// somewhere; events that only fail are looked at again at the next
	// poll, not in a loop.
	return done, done > 0, joinFew(errs)
}

// fanOutOne completes ev's fan-out: its plan (which the store reads), or
// its matches.
func (in *Ingester) fanOutOne(ctx context.Context, ev *models.Event) (int, bool, error) {
	if ev.FanoutPlan != nil {
		return in.store.CompleteFanout(ctx, ev, nil)
	}
	fev, err := parse(ev)
	if err != nil {
		return 0, false, err
	}
	hooks, err := in.Matcher.Match(ctx, ev.TenantID, fev)
	if err != nil {
		return 0, false, err
	}
	now := store.Now()
	var ds []models.Delivery
	for _, w := range hooks {
		if ev.SourceWebhookID != nil && w.ID == *ev.SourceWebhookID {
			continue // never about itself
		}
		ds = append(ds, deliveryFor(*ev, w, now))
	}
	return in.store.CompleteFanout(ctx, ev, ds)
}

// joinFew joins the first few of errs and counts the rest: a log line, not
// a page of it, when a hundred events fail alike.
func joinFew(errs []error) error {
	const few = 3
	if len(errs) <= few {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs[:few:few], fmt.Errorf("and %d more events failed", len(errs)-few))...)
}
