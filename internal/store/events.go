package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/webhookd/webhookd/models"
)

// Ingestion is one event to store with what it fans out to.
type Ingestion struct {
	Event *models.Event
	// Deliveries are the event's one-event deliveries, ready to insert.
	Deliveries []models.Delivery
	// Batches are the webhooks that take this event in a batch.
	Batches []BatchTarget
	// Planned are one-event deliveries stored as the event's fan-out plan
	// (events.fanout_plan) instead of as rows: CompleteFanout inserts
	// them, as they are, when the starter runs it. They are answered all
	// the same.
	Planned []models.Delivery
}

// BatchTarget is a batching webhook an event goes to: the event joins the
// webhook's open batch, or starts one.
type BatchTarget struct {
	WebhookID string
	MaxEvents int
	MaxWait   time.Duration
	// NewID names the batch delivery if one must be started.
	NewID string
}

// Ingested is what an ingestion stored, or found stored before.
type Ingested struct {
	Event      *models.Event
	Deliveries []models.Delivery
	// Created is false when the event was there already: nothing was
	// written and Deliveries are the first ingestion's.
	Created bool
}

// IngestEvent stores one event and its deliveries in one transaction; see
// IngestEvents.
func (s *Store) IngestEvent(ctx context.Context, ev *models.Event, ds []models.Delivery) (stored *models.Event, deliveries []models.Delivery, created bool, err error) {
	res, err := s.IngestEvents(ctx, []Ingestion{{Event: ev, Deliveries: ds}})
	if err != nil {
		return nil, nil, false, err
	}
	return res[0].Event, res[0].Deliveries, res[0].Created, nil
}

// IngestEvents stores events with their deliveries in one transaction: all
// or nothing. An event that names no tenant belongs to the default one. An
// event whose id its tenant has used before writes nothing and answers with
// the stored event and its deliveries: ingestion is idempotent.
func (s *Store) IngestEvents(ctx context.Context, ins []Ingestion) ([]Ingested, error) {
	var out []Ingested
	err := retryConflicts(ctx, func() error {
		out = make([]Ingested, len(ins))
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for i, in := range ins {
				res, err := s.ingestOne(tx, in)
				if err != nil {
					return err
				}
				out[i] = res
			}
			return nil
		})
	})
	return out, translate(err)
}

// retryConflicts runs fn again (a few times) when PostgreSQL aborted it to
// break a deadlock or a serialization conflict: the transaction had no
// effect, and running it again is what such an error asks for.
func retryConflicts(ctx context.Context, fn func() error) error {
	var err error
	for try := range 4 {
		if err = fn(); !isConflict(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 10 * time.Millisecond):
		}
	}
	return err
}

func isConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func (s *Store) ingestOne(tx *gorm.DB, in Ingestion) (Ingested, error) {
	ev := in.Event
	if ev.TenantID == "" {
		ev.TenantID = models.DefaultTenant
	}
	ds, planned := in.Deliveries, in.Planned
	for i := range ds {
		ds[i].TenantID = ev.TenantID // the database refuses any other
	}
	if len(planned) > 0 {
		for i := range planned {
			planned[i].TenantID = ev.TenantID
		}
		plan, err := encodePlan(ev, planned)
		if err != nil {
			return Ingested{}, err
		}
		// fanout_pending stays false: an earlier release's starter,
		// which looks only at it, must not take the event for an
		// operational one (migration 00022).
		ev.FanoutPlan = &plan
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(ev)
	if res.Error != nil {
		return Ingested{}, res.Error
	}
	if res.RowsAffected == 0 {
		// The first ingestion's answer: its event read before its
		// deliveries, so that a plan expanded meanwhile is in one or both.
		stored, err := getEvent(tx, ev.TenantID, ev.ID)
		if err != nil {
			return Ingested{}, err
		}
		ds, err := eventDeliveries(tx, ev.TenantID, ev.ID)
		if err != nil {
			return Ingested{}, err
		}
		return Ingested{Event: stored, Deliveries: WithPlanned(stored, ds)}, nil
	}
	if err := insertDeliveries(tx, s.dialect, ds); err != nil {
		return Ingested{}, err
	}
	ds = append(ds, planned...)
	for _, bt := range in.Batches {
		d, err := s.joinBatch(tx, ev, bt)
		if err != nil {
			return Ingested{}, err
		}
		ds = append(ds, d)
	}
	return Ingested{Event: ev, Deliveries: ds, Created: true}, nil
}

// MaxBatchBytes bounds a batch's events (their data, entity and change
// description): a batch closes before it grows past one request body most
// receivers accept. A single larger event still goes, alone.
const MaxBatchBytes = 1 << 20

func eventBytes(ev *models.Event) int64 {
	return int64(len(ev.Data) + len(ev.Entity) + len(ev.ChangeDescription) + 256) // and its envelope
}

// joinBatch adds ev to one of the webhook's open batches, or opens one. A
// batch that reaches MaxEvents closes at once; one the event would push past
// MaxBatchBytes closes and a new one opens; otherwise a batch closes MaxWait
// after its first event, and the starter sends it then.
//
// On PostgreSQL an event joins the oldest open batch no other transaction
// holds (SKIP LOCKED), and opens a new one when every open batch is held:
// producers never wait for each other, a webhook has about as many open
// batches as events arriving at once, and no lock order can deadlock. One
// open batch per webhook, locked by every event, made concurrent posts take
// turns (BenchmarkBatchedDelivery).
func (s *Store) joinBatch(tx *gorm.DB, ev *models.Event, bt BatchTarget) (models.Delivery, error) {
	now := Now()
	size := eventBytes(ev)
	var open models.Delivery
	q := openBatches(tx, bt.WebhookID, now, bt.MaxEvents)
	if s.dialect == Postgres {
		// Re-checked after the lock: a batch the starter claimed meanwhile
		// no longer qualifies, and another is joined or opened instead.
		q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	if err := q.Find(&open).Error; err != nil {
		return models.Delivery{}, err
	}
	if open.ID != "" && open.BatchBytes+size > MaxBatchBytes {
		// Full by size: send it now; this event starts the next one.
		if err := tx.Model(&models.Delivery{}).Where("id = ?", open.ID).Update("batch_closes_at", now).Error; err != nil {
			return models.Delivery{}, err
		}
		open = models.Delivery{}
	}
	if open.ID == "" {
		closes := now.Add(bt.MaxWait)
		if bt.MaxEvents <= 1 {
			closes = now
		}
		d := models.Delivery{
			ID: bt.NewID, TenantID: ev.TenantID, EventID: ev.ID, WebhookID: bt.WebhookID, EventType: models.BatchEventType,
			Status: models.DeliveryPending, Trigger: models.TriggerScheduled, BatchSize: 1, BatchBytes: size, BatchClosesAt: &closes,
			CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&d).Error; err != nil {
			return models.Delivery{}, err
		}
		return d, tx.Create(&models.BatchEvent{DeliveryID: d.ID, Position: 0, TenantID: ev.TenantID, EventID: ev.ID}).Error
	}
	if err := tx.Create(&models.BatchEvent{DeliveryID: open.ID, Position: open.BatchSize, TenantID: ev.TenantID, EventID: ev.ID}).Error; err != nil {
		return models.Delivery{}, err
	}
	open.BatchSize++
	open.BatchBytes += size
	set := map[string]any{"batch_size": open.BatchSize, "batch_bytes": open.BatchBytes, "updated_at": now}
	if open.BatchSize >= bt.MaxEvents {
		set["batch_closes_at"] = now // full: send it now
		open.BatchClosesAt = &now
	}
	return open, tx.Model(&models.Delivery{}).Where("id = ?", open.ID).Updates(set).Error
}

// openBatches selects a webhook's open batches with room, oldest first.
// deliveries_open_batch (webhook_id, created_at) serves both the filter and
// the order: SQLite, which plans without statistics, otherwise walked the
// webhook's whole delivery log (deliveries_webhook_log) in created_at order,
// inside ingest's write transaction, for every event a batching webhook
// takes.
func openBatches(tx *gorm.DB, webhookID string, now time.Time, maxEvents int) *gorm.DB {
	return tx.Where("webhook_id = ? AND dispatched_at IS NULL AND batch_closes_at > ? AND batch_size < ?", webhookID, now, maxEvents).
		Order("created_at").Limit(1)
}

// GetEvent returns the tenant's event with id.
func (s *Store) GetEvent(ctx context.Context, tenant, id string) (*models.Event, error) {
	return getEvent(s.db.WithContext(ctx), tenant, id)
}

func getEvent(db *gorm.DB, tenant, id string) (*models.Event, error) {
	var ev models.Event
	if err := db.Where("tenant_id = ? AND id = ?", tenant, id).Take(&ev).Error; err != nil {
		return nil, translate(err)
	}
	return &ev, nil
}

// EventDeliveries returns an event's stored deliveries, batches that carry
// it included, oldest first; WithPlanned adds those of a plan not yet
// expanded.
func (s *Store) EventDeliveries(ctx context.Context, tenant, eventID string) ([]models.Delivery, error) {
	return eventDeliveries(s.db.WithContext(ctx), tenant, eventID)
}

func eventDeliveries(db *gorm.DB, tenant, eventID string) ([]models.Delivery, error) {
	var ds []models.Delivery
	// Two index-backed lookups (an OR across them would read the tenant's
	// every delivery); UNION also drops a batch found both ways (its first
	// event is its event_id too).
	err := db.Raw(`SELECT * FROM deliveries WHERE tenant_id = ? AND event_id = ?
		UNION
		SELECT d.* FROM deliveries d JOIN batch_events b ON b.delivery_id = d.id WHERE b.tenant_id = ? AND b.event_id = ?
		ORDER BY created_at, id`, tenant, eventID, tenant, eventID).Scan(&ds).Error
	return ds, err
}

// BatchEvents returns the events of a batch delivery, in order.
func (s *Store) BatchEvents(ctx context.Context, deliveryID string) ([]models.Event, error) {
	var evs []models.Event
	err := s.db.WithContext(ctx).Table("events e").Select("e.*").
		Joins("JOIN batch_events b ON b.tenant_id = e.tenant_id AND b.event_id = e.id").
		Where("b.delivery_id = ?", deliveryID).Order("b.position").Scan(&evs).Error
	return evs, err
}

// EventQuery filters and pages the events list, newest first.
type EventQuery struct {
	TenantID string // empty: every tenant
	Type     string
	Since    time.Time // inclusive; zero means unbounded
	Until    time.Time // exclusive; zero means unbounded
	Limit    int
	// Keyset cursor: only events strictly older than this one.
	AfterCreated  time.Time
	AfterTenantID string
	AfterID       string
}

// ListEvents returns one page of events matching q, served by
// events_created_at (every tenant) or events_tenant_created /
// events_tenant_type (one tenant).
func (s *Store) ListEvents(ctx context.Context, q EventQuery) ([]models.Event, error) {
	var evs []models.Event
	err := listEvents(s.db.WithContext(ctx), q).Find(&evs).Error
	return evs, err
}

func listEvents(db *gorm.DB, q EventQuery) *gorm.DB {
	// A page never needs a plan (up to a MB each, read only to expand
	// or list one event's deliveries).
	db = db.Model(&models.Event{}).Omit("fanout_plan").Where("NOT fanout_pending")
	if q.TenantID != "" {
		db = db.Where("tenant_id = ?", q.TenantID)
	}
	if q.Type != "" {
		db = db.Where("type = ?", q.Type)
	}
	if !q.Since.IsZero() {
		db = db.Where("created_at >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		db = db.Where("created_at < ?", q.Until)
	}
	switch {
	case q.AfterID != "" && q.TenantID != "":
		// The tenant is fixed, so the cursor is a range of the tenant's index.
		db = db.Where("(created_at, id) < (?, ?)", q.AfterCreated, q.AfterID)
	case q.AfterID != "":
		db = db.Where("(created_at, tenant_id, id) < (?, ?, ?)", q.AfterCreated, q.AfterTenantID, q.AfterID)
	}
	return db.Order("created_at DESC, tenant_id DESC, id DESC").Limit(q.Limit)
}

// DeliveryCounts counts each event's deliveries by status (batches that
// carry an event included), in one query for a page of events.
func (s *Store) DeliveryCounts(ctx context.Context, evs []models.Event) (map[[2]string]map[models.DeliveryStatus]int64, error) {
	out := map[[2]string]map[models.DeliveryStatus]int64{}
	if len(evs) == 0 {
		return out, nil
	}
	keys := make([]eventKey, len(evs))
	for i, ev := range evs {
		keys[i] = eventKey{TenantID: ev.TenantID, ID: ev.ID}
	}
	var rows []struct {
		TenantID, EventID string
		Status            models.DeliveryStatus
		N                 int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT tenant_id, event_id, status, count(*) AS n FROM (
			SELECT d.id, d.tenant_id, d.event_id, d.status FROM deliveries d WHERE (d.tenant_id, d.event_id) IN ?
			UNION
			SELECT d.id, b.tenant_id, b.event_id, d.status FROM batch_events b JOIN deliveries d ON d.id = b.delivery_id
				WHERE (b.tenant_id, b.event_id) IN ?
		) x GROUP BY tenant_id, event_id, status`, keyList(keys), keyList(keys)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		k := [2]string{r.TenantID, r.EventID}
		if out[k] == nil {
			out[k] = map[models.DeliveryStatus]int64{}
		}
		out[k][r.Status] = r.N
	}
	return out, nil
}
