package ingest

import (
	"context"
	"fmt"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// FanOut stores the deliveries of events waiting for them: those a large
// fan-out's event planned at ingest, as planned (they were answered; the
// match is what was true then, as for any event); and those of operational
// events (a webhook started failing, recovered, ...): the tenant's webhooks
// whose filters match, except the webhook the event is about. The outbox
// starter runs it before each pass, so that every api replica helps and
// the deliveries join the outbox in order. It returns how many events it
// completed.
func (in *Ingester) FanOut(ctx context.Context) (int, error) {
	evs, err := in.store.PendingFanout(ctx, 100)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	done := 0
	for i := range evs {
		ev := &evs[i]
		if ev.FanoutPlan != nil {
			ok, err := in.store.CompleteFanout(ctx, ev, nil)
			if err != nil {
				return done, fmt.Errorf("planned fan-out of event %s: %w", ev.ID, err)
			}
			if ok {
				done++
			}
			continue
		}
		fev, err := parse(ev)
		if err != nil {
			return done, fmt.Errorf("operational event %s: %w", ev.ID, err)
		}
		hooks, err := in.Matcher.Match(ctx, ev.TenantID, fev)
		if err != nil {
			return done, err
		}
		now := store.Now()
		var ds []models.Delivery
		for _, w := range hooks {
			if ev.SourceWebhookID != nil && w.ID == *ev.SourceWebhookID {
				continue // never about itself
			}
			ds = append(ds, deliveryFor(*ev, w, now))
		}
		ok, err := in.store.CompleteFanout(ctx, ev, ds)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}
