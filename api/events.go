package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// eventReader reads one event with its deliveries.
type eventReader interface {
	GetEvent(ctx context.Context, tenant, id string) (*models.Event, error)
	EventDeliveries(ctx context.Context, tenant, eventID string) ([]models.Delivery, error)
}

// eventJSON is what producers post.
type eventJSON struct {
	// TenantID is the event's tenant: a tenant token's own, or the one the
	// admin names (default when none).
	TenantID          string          `json:"tenantId,omitempty"`
	ID                string          `json:"id,omitempty"`
	Type              string          `json:"type"`
	EntityType        string          `json:"entityType,omitempty"`
	Entity            json.RawMessage `json:"entity,omitempty"`
	ChangeDescription json.RawMessage `json:"changeDescription,omitempty"`
	Data              json.RawMessage `json:"data,omitempty"`
	// Timestamp is ISO 8601 or epoch milliseconds (OpenMetadata's form).
	Timestamp json.RawMessage `json:"timestamp,omitempty"`
}

var (
	eventTypePattern = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,256}$`)
	eventIDPattern   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,200}$`)
)

type ingestAnswer struct {
	ID         string             `json:"id"`
	TenantID   string             `json:"tenantId"`
	Deliveries []ingestedDelivery `json:"deliveries"`
}

type ingestedDelivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
}

// ingestEvent accepts an event: 202 once it and its deliveries are stored.
// The same id (or Idempotency-Key) again returns the first answer.
func (s *server) ingestEvent(c *gin.Context) {
	var in eventJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	tenant, err := namedTenant(c, in.TenantID)
	if err != nil {
		fail(c, err)
		return
	}
	ev, err := toEvent(in, c.GetHeader("Idempotency-Key"))
	if err != nil {
		fail(c, err)
		return
	}
	ev.TenantID = tenant
	res, err := s.ingester.Ingest(c.Request.Context(), ev)
	if err != nil {
		fail(c, err)
		return
	}
	if !res.Created {
		c.Header("Idempotent-Replayed", "true")
	}
	s.metrics.countIngested(res.Created)
	answer := toIngestAnswer(res.Event, res.Deliveries)
	noteIngested(c, answer.ID, deliveryIDs(answer.Deliveries))
	s.answerThenWake(c, answer, []ingest.Ingested{res})
}

// answerThenWake writes the 202 answer, then wakes the starter for res: the
// producer has its answer before starting the workflows of a large fan-out
// competes with it for the CPU.
func (s *server) answerThenWake(c *gin.Context, answer any, res []ingest.Ingested) {
	c.JSON(http.StatusAccepted, answer)
	c.Writer.Flush()
	s.ingester.Wake(res)
}

func toIngestAnswer(ev models.Event, ds []models.Delivery) ingestAnswer {
	out := ingestAnswer{ID: ev.ID, TenantID: ev.TenantID, Deliveries: []ingestedDelivery{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, ingestedDelivery{ID: d.ID, WebhookID: d.WebhookID})
	}
	return out
}

func deliveryIDs(ds []ingestedDelivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func toEvent(in eventJSON, idempotencyKey string) (models.Event, error) {
	id := in.ID
	switch {
	case id == "" && idempotencyKey != "":
		id = idempotencyKey
	case id != "" && idempotencyKey != "" && id != idempotencyKey:
		return models.Event{}, invalid("id", "differs from the Idempotency-Key header; send one or make them equal")
	case id == "":
		id = uuid.Must(uuid.NewV7()).String()
	}
	if !eventIDPattern.MatchString(id) {
		return models.Event{}, invalid("id", "1-200 characters of A-Z a-z 0-9 _ . : -")
	}
	if in.Type == "" {
		return models.Event{}, invalid("type", "required")
	}
	if !eventTypePattern.MatchString(in.Type) {
		return models.Event{}, invalid("type", "1-256 characters of A-Z a-z 0-9 _ . : / -")
	}
	if len(in.EntityType) > 256 {
		return models.Event{}, invalid("entityType", "at most 256 characters")
	}
	if !isObjectOrEmpty(in.Entity) {
		return models.Event{}, invalid("entity", "must be a JSON object")
	}
	if !isObjectOrEmpty(in.ChangeDescription) {
		return models.Event{}, invalid("changeDescription", "must be a JSON object")
	}
	if _, err := filter.ParseEvent(in.Type, in.EntityType, in.Entity, in.ChangeDescription); err != nil {
		var fe *filter.FieldError
		if errors.As(err, &fe) {
			return models.Event{}, invalid(fe.Path, "%s", fe.Msg)
		}
		return models.Event{}, err
	}
	ts, err := parseTimestamp(in.Timestamp)
	if err != nil {
		return models.Event{}, err
	}
	return models.Event{
		ID: id, Type: in.Type, EntityType: in.EntityType, Entity: nullable(in.Entity),
		ChangeDescription: nullable(in.ChangeDescription), Data: nullable(in.Data), Timestamp: ts,
	}, nil
}

func isObjectOrEmpty(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null")) || t[0] == '{'
}

func nullable(raw json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return raw
}

func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return time.Now().UTC().Truncate(time.Millisecond), nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err == nil {
			if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return ts.UTC().Truncate(time.Microsecond), nil
			}
		}
		return time.Time{}, invalid("timestamp", "an ISO 8601 time such as 2024-01-15T10:30:00.000Z, or epoch milliseconds")
	}
	ms, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, invalid("timestamp", "an ISO 8601 time such as 2024-01-15T10:30:00.000Z, or epoch milliseconds")
	}
	return time.UnixMilli(ms).UTC(), nil
}

// eventView is an event with its deliveries.
type eventView struct {
	ID                string          `json:"id"`
	TenantID          string          `json:"tenantId"`
	Type              string          `json:"type"`
	EntityType        string          `json:"entityType,omitempty"`
	Entity            json.RawMessage `json:"entity,omitempty"`
	ChangeDescription json.RawMessage `json:"changeDescription,omitempty"`
	Data              json.RawMessage `json:"data,omitempty"`
	IsTest            bool            `json:"isTest,omitempty"`
	Timestamp         string          `json:"timestamp"`
	CreatedAt         string          `json:"createdAt"`
	Deliveries        []deliveryJSON  `json:"deliveries"`
}

// getEvent reads an event of the caller's tenant (the admin names it with
// ?tenantId=, default when none): event ids are unique per tenant only.
func (s *server) getEvent(c *gin.Context) {
	ctx := c.Request.Context()
	tenant, err := queryTenant(c)
	if err != nil {
		fail(c, err)
		return
	}
	ev, err := s.store.GetEvent(ctx, tenant, c.Param("id"))
	if err != nil {
		fail(c, notFoundAs(err, "event %s not found", c.Param("id")))
		return
	}
	ds, err := s.store.EventDeliveries(ctx, ev.TenantID, ev.ID)
	if err != nil {
		fail(c, err)
		return
	}
	// A large fan-out's planned deliveries, until the starter has
	// inserted them, as they will be (read after ev: none twice).
	ds = store.WithPlanned(ev, ds)
	out := eventView{
		ID: ev.ID, TenantID: ev.TenantID, Type: ev.Type, EntityType: ev.EntityType, Entity: ev.Entity,
		ChangeDescription: ev.ChangeDescription, Data: ev.Data, IsTest: ev.IsTest,
		Timestamp: isoTime(ev.Timestamp), CreatedAt: isoTime(ev.CreatedAt), Deliveries: []deliveryJSON{},
	}
	for i := range ds {
		out.Deliveries = append(out.Deliveries, toDeliveryJSON(&ds[i]))
	}
	c.JSON(http.StatusOK, out)
}
