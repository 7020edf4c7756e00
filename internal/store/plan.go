package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// A large fan-out is planned at ingest and expanded by the outbox starter
// (docs/architecture.md). Inserting a thousand delivery rows, each into six
// indexes and checked against its webhook, costs tens of milliseconds that
// the producer would wait for; the plan is one column of the event row.
// Ingest still decides every delivery (ids, statuses, trace) and answers
// with them; CompleteFanout inserts them as planned, under the claim that
// keeps replicas from both doing it.

// fanoutPlan is what events.fanout_plan holds. The deliveries of a plan
// share what ingest gives every one-event delivery of an event: its tenant,
// id and type, the trigger "scheduled", the ingest time and the request's
// trace; each has its own id, webhook, status and sequence.
type fanoutPlan struct {
	// V is the format's version (planVersion). A release that finds
	// another leaves the plan for a replica that knows it (ErrPlanVersion)
	// rather than guess at what it holds.
	V           int               `json:"v"`
	CreatedAt   time.Time         `json:"createdAt"`
	TraceParent string            `json:"traceParent,omitempty"`
	Deliveries  []plannedDelivery `json:"deliveries"`
}

type plannedDelivery struct {
	ID          string                `json:"id"`
	WebhookID   string                `json:"webhookId"`
	Status      models.DeliveryStatus `json:"status,omitempty"` // "" is pending
	SequenceKey *string               `json:"sequenceKey,omitempty"`
	SequenceAt  *time.Time            `json:"sequenceAt,omitempty"`
}

// planVersion is the version of fanoutPlan this release writes and reads.
const planVersion = 1

// ErrPlanVersion: a plan written by another release, in a format this one
// does not know. Its event waits for a replica that does.
var ErrPlanVersion = errors.New("store: fan-out plan in a format of another release")

// errUnplannable: a delivery that is not a fresh one-event delivery of the
// event (a batch, a replay, one already attempted) cannot be planned.
var errUnplannable = errors.New("store: only fresh one-event deliveries of an event can be planned")

// encodePlan is ds as ev's plan.
func encodePlan(ev *models.Event, ds []models.Delivery) (string, error) {
	p := fanoutPlan{V: planVersion, CreatedAt: ds[0].CreatedAt, TraceParent: ds[0].TraceParent, Deliveries: make([]plannedDelivery, len(ds))}
	for i := range ds {
		d := &ds[i]
		if d.EventID != ev.ID || d.EventType != ev.Type || d.Trigger != models.TriggerScheduled || d.BatchSize != 0 ||
			!d.CreatedAt.Equal(p.CreatedAt) || !d.UpdatedAt.Equal(p.CreatedAt) || d.TraceParent != p.TraceParent ||
			(d.Status != models.DeliveryPending && d.Status != models.DeliveryHeld) || d.AttemptCount != 0 || d.DispatchedAt != nil {
			return "", errUnplannable
		}
		p.Deliveries[i] = plannedDelivery{ID: d.ID, WebhookID: d.WebhookID, SequenceKey: d.SequenceKey, SequenceAt: d.SequenceAt}
		if d.Status != models.DeliveryPending {
			p.Deliveries[i].Status = d.Status
		}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// PlannedDeliveries returns the deliveries ev's plan holds, as their rows
// will be once the starter inserts them; none when it has no plan (it had
// none, or it was expanded).
func PlannedDeliveries(ev *models.Event) ([]models.Delivery, error) {
	if ev.FanoutPlan == nil {
		return nil, nil
	}
	var version struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal([]byte(*ev.FanoutPlan), &version); err != nil {
		return nil, err
	}
	if version.V != planVersion {
		return nil, fmt.Errorf("%w (version %d)", ErrPlanVersion, version.V)
	}
	// Strict: a field this release does not know would be dropped.
	var p fanoutPlan
	dec := json.NewDecoder(strings.NewReader(*ev.FanoutPlan))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	ds := make([]models.Delivery, len(p.Deliveries))
	for i, pd := range p.Deliveries {
		status := pd.Status
		if status == "" {
			status = models.DeliveryPending
		}
		ds[i] = models.Delivery{
			ID: pd.ID, TenantID: ev.TenantID, EventID: ev.ID, WebhookID: pd.WebhookID, EventType: ev.Type,
			Status: status, Trigger: models.TriggerScheduled, SequenceKey: pd.SequenceKey, SequenceAt: pd.SequenceAt,
			TraceParent: p.TraceParent, CreatedAt: p.CreatedAt, UpdatedAt: p.CreatedAt,
		}
	}
	return ds, nil
}

// WithPlanned adds ev's planned deliveries to its stored ones ds, in the
// order of the stored (created_at, id). Read ev before ds: a plan expanded
// between the two reads is then in both, and each delivery is kept once.
// A plan of another release's format, or one that cannot be read, adds
// nothing: the stored deliveries are answered, as a release before plans
// does (the starter reports an unreadable plan each time it skips it).
func WithPlanned(ev *models.Event, ds []models.Delivery) []models.Delivery {
	planned, err := PlannedDeliveries(ev)
	if err != nil || len(planned) == 0 {
		return ds
	}
	stored := make(map[string]bool, len(ds))
	for _, d := range ds {
		stored[d.ID] = true
	}
	out := slices.Clone(ds)
	for _, d := range planned {
		if !stored[d.ID] {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b models.Delivery) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out
}

// liveWebhooks keeps the deliveries whose webhook still exists: a webhook
// hard-deleted since the plan was made took its deliveries with it, and
// those it never had are not inserted (their foreign key would refuse the
// whole expansion). A soft-deleted webhook's are inserted, as if they had
// been stored just before the delete: the workflow records them cancelled.
func liveWebhooks(tx *gorm.DB, ds []models.Delivery) ([]models.Delivery, error) {
	ids := make([]string, 0, len(ds))
	seen := map[string]bool{}
	for _, d := range ds {
		if !seen[d.WebhookID] {
			seen[d.WebhookID] = true
			ids = append(ids, d.WebhookID)
		}
	}
	var found []string
	// In chunks: a statement takes at most 65,535 parameters on
	// PostgreSQL, 32,766 on SQLite.
	for chunk := range slices.Chunk(ids, 5000) {
		var some []string
		if err := tx.Model(&models.Webhook{}).Where("id IN ?", chunk).Pluck("id", &some).Error; err != nil {
			return nil, err
		}
		found = append(found, some...)
	}
	if len(found) == len(ids) {
		return ds, nil
	}
	exists := make(map[string]bool, len(found))
	for _, id := range found {
		exists[id] = true
	}
	return slices.DeleteFunc(ds, func(d models.Delivery) bool { return !exists[d.WebhookID] }), nil
}
