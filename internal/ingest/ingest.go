// Package ingest turns accepted events into deliveries waiting in the
// outbox: it checks events of the catalog's strict types against their
// schemas (Validator), matches each event against its tenant's webhooks
// (Matcher, in memory) and stores the event with its deliveries in one
// transaction. It also fans out the operational events webhookd raises
// about its own webhooks, and writes what each filter matched (counts.go).
// It never talks to Temporal: internal/dispatch starts the workflows of
// what it stores.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/models"
)

// ingestStore is what ingest reads and writes.
type ingestStore interface {
	typeStore
	Versions(ctx context.Context, tenant string) (store.Versions, error)
	IngestEvents(ctx context.Context, ins []store.Ingestion) ([]store.Ingested, error)
	TakeEvents(ctx context.Context, tenant string, n, perSecond int) error
	PendingFanoutAfter(ctx context.Context, limit int, after *models.Event) ([]models.Event, error)
	CompleteFanout(ctx context.Context, ev *models.Event, ds []models.Delivery) (int, bool, error)
	AddFilterCounts(ctx context.Context, at time.Time, counts []store.FilterCount) error
}

// Waker is told when deliveries were committed to the outbox, so that the
// outbox starter starts them (dispatch.Dispatcher).
type Waker interface {
	// Wake asks for the deliveries to be started now.
	Wake()
	// WakeAt asks for a look at t (a batch closes then).
	WakeAt(t time.Time)
}

// Ingester accepts events.
type Ingester struct {
	store     ingestStore
	Matcher   *Matcher
	Validator *Validator
	// EventsPerSecond is each tenant's quota (TENANT_EVENTS_PER_SECOND; 0:
	// none), held across every replica in the database: events past it
	// are refused with a *store.QuotaError saying when they would fit.
	EventsPerSecond int
	// InlineFanout is the most one-event deliveries an event stores
	// inline (0: inlineFanout); past it they are planned (see IngestMany).
	InlineFanout int
	// FanoutBudget is about how many deliveries one FanOut call inserts
	// before it leaves the rest for the next (0: fanoutBudget).
	FanoutBudget int
	waker        Waker
}

// inlineFanout: an event with more plain deliveries than this has them
// planned on its row and inserted by the starter, after the answer. A
// thousand rows cost the producer ~40 ms on a quiet PostgreSQL (six
// indexes and two foreign-key checks each; docs/performance.md), some
// seventeen one-webhook answers; the insert grows with the rows, so up to
// a hundred stay inline, where GET /deliveries/{id} finds them as soon as
// the answer names them.
const inlineFanout = 100

// New returns an Ingester storing in s, matching with m, checking events
// against the catalog in s and telling w of the deliveries it commits.
func New(s ingestStore, m *Matcher, w Waker) *Ingester {
	return &Ingester{store: s, Matcher: m, Validator: NewValidator(s), waker: w}
}

// Ingested is the answer to an ingested event.
type Ingested struct {
	Event      models.Event
	Deliveries []models.Delivery
	// Created is false when the event id was seen before: nothing new was
	// stored, and this is the first ingestion's answer.
	Created bool
}

// Ingest accepts one event; see IngestMany.
func (in *Ingester) Ingest(ctx context.Context, ev models.Event) (Ingested, error) {
	res, err := in.IngestMany(ctx, []models.Event{ev})
	if err != nil {
		return Ingested{}, err
	}
	return res[0], nil
}

// IngestMany checks each event against its type's schema (when the type
// is strict), matches it against its tenant's webhooks and stores the
// events and their deliveries in one transaction. The caller then wakes
// the starter (Wake).
// An event with more than InlineFanout unordered one-event deliveries
// stores them as a plan on its row, decided and named as they would be
// inline; the starter inserts them as planned (FanOut), normally in its
// next pass, and they are answered all the same. Deliveries of ordered
// webhooks and batches are always stored inline: a later event's delivery
// of the same sequence, stored inline, could otherwise be started before
// this one's plan is expanded.
// An event that does not match its schema refuses the whole request
// (*DataError naming it) and nothing is stored. Catalog and webhooks are
// read as they are now: a change committed through any replica before the
// request applies to it. It never waits on Temporal: once it returns, the
// events are durable and the starter (of this process, or of any other)
// starts their workflows.
func (in *Ingester) IngestMany(ctx context.Context, evs []models.Event) ([]Ingested, error) {
	if err := in.admit(ctx, evs); err != nil {
		return nil, err
	}
	now := store.Now()
	versions := map[string]store.Versions{}
	for i := range evs {
		ev := &evs[i]
		if ev.TenantID == "" {
			ev.TenantID = models.DefaultTenant
		}
		v, ok := versions[ev.TenantID]
		if !ok {
			var err error
			if v, err = in.store.Versions(ctx, ev.TenantID); err != nil {
				return nil, fmt.Errorf("read versions: %w", err)
			}
			versions[ev.TenantID] = v
		}
		if err := in.Validator.Check(ctx, ev.TenantID, v.Catalog, ev); err != nil {
			var de *DataError
			if errors.As(err, &de) {
				de.Index = i
			}
			return nil, err
		}
	}
	ins := make([]store.Ingestion, len(evs))
	// The request's span ("" with tracing off): each delivery's start and
	// attempts join its trace.
	traceParent := tracing.TraceParent(ctx)
	for i := range evs {
		ev := &evs[i]
		fev, err := parse(ev)
		if err != nil {
			return nil, err
		}
		hooks, err := in.Matcher.MatchAt(ctx, ev.TenantID, versions[ev.TenantID].Webhooks, fev)
		if err != nil {
			return nil, fmt.Errorf("match webhooks: %w", err)
		}
		ev.CreatedAt = now
		ing := store.Ingestion{Event: ev}
		var plain []models.Delivery
		for _, w := range hooks {
			// A paused webhook's batches form as usual; their workflows
			// hold them at the first attempt.
			if w.BatchEnabled {
				ing.Batches = append(ing.Batches, store.BatchTarget{
					WebhookID: w.ID, MaxEvents: w.BatchSize, MaxWait: time.Duration(w.BatchMaxWaitMs) * time.Millisecond,
					NewID: newID(),
				})
				continue
			}
			del := deliveryFor(*ev, w, now)
			del.TraceParent = traceParent
			if del.SequenceKey != nil {
				ing.Deliveries = append(ing.Deliveries, del)
				continue
			}
			plain = append(plain, del)
		}
		if len(plain) > cmp.Or(in.InlineFanout, inlineFanout) {
			ing.Planned = plain
		} else {
			ing.Deliveries = append(ing.Deliveries, plain...)
		}
		ins[i] = ing
	}
	stored, err := in.store.IngestEvents(ctx, ins)
	if err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	out := make([]Ingested, len(stored))
	for i, s := range stored {
		out[i] = Ingested{Event: *s.Event, Deliveries: s.Deliveries, Created: s.Created}
	}
	return out, nil
}

// Wake tells the starter of the deliveries res committed: start them now,
// and look again when their batches close. The API calls it once its
// answer is written, so that starting a fan-out's thousand workflows does
// not share the two cores with the answer (BenchmarkFanOut); a caller that
// never calls it leaves the deliveries to the starter's next poll.
func (in *Ingester) Wake(res []Ingested) {
	for _, r := range res {
		for _, del := range r.Deliveries {
			if del.BatchClosesAt != nil {
				in.waker.WakeAt(*del.BatchClosesAt)
			}
		}
	}
	in.waker.Wake()
}

// admit takes the events from their tenants' quotas, before any work is
// done for them.
func (in *Ingester) admit(ctx context.Context, evs []models.Event) error {
	if in.EventsPerSecond <= 0 {
		return nil
	}
	perTenant := map[string]int{}
	var tenants []string
	for _, ev := range evs {
		t := ev.TenantID
		if t == "" {
			t = models.DefaultTenant
		}
		if perTenant[t] == 0 {
			tenants = append(tenants, t)
		}
		perTenant[t]++
	}
	for _, t := range tenants {
		if err := in.store.TakeEvents(ctx, t, perTenant[t], in.EventsPerSecond); err != nil {
			return err
		}
	}
	return nil
}

// parse is what filters look at of ev, with its content for content
// filters (decoded only if one runs).
func parse(ev *models.Event) (filter.Event, error) {
	fev, err := filter.ParseEvent(ev.Type, ev.EntityType, ev.Entity, ev.ChangeDescription)
	if err != nil {
		return fev, err
	}
	fev.Content = &filter.Content{
		ID: ev.ID, Type: ev.Type, TenantID: ev.TenantID, Timestamp: ev.Timestamp, EntityType: ev.EntityType,
		Entity: ev.Entity, ChangeDescription: ev.ChangeDescription, Data: ev.Data,
	}
	return fev, nil
}
