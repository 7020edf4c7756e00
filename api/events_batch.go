package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/input"
	"github.com/webhookd/webhookd/models"
)

// MaxBatchEvents bounds POST /events/batch.
const MaxBatchEvents = 500

type eventBatchJSON struct {
	Events []json.RawMessage `json:"events"`
}

type batchIngestAnswer struct {
	Data []batchIngestItem `json:"data"`
}

type batchIngestItem struct {
	ingestAnswer
	// IdempotentReplayed marks an event whose id was seen before: this is
	// the first answer, and nothing new was stored.
	IdempotentReplayed bool `json:"idempotentReplayed,omitempty"`
}

// ingestEventBatch accepts up to MaxBatchEvents events in one request and
// one transaction: 202 with one answer per event, in order, each idempotent
// exactly as a single POST /events. Any invalid event refuses the whole
// request, naming it (events[3].type), and nothing is stored.
func (s *server) ingestEventBatch(c *gin.Context) {
	var in eventBatchJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	switch {
	case len(in.Events) == 0:
		fail(c, invalid("events", "send at least one event"))
		return
	case len(in.Events) > MaxBatchEvents:
		fail(c, invalid("events", "at most %d events per request (got %d)", MaxBatchEvents, len(in.Events)))
		return
	}
	evs := make([]models.Event, len(in.Events))
	for i, raw := range in.Events {
		ev, err := s.decodeEvent(c, raw)
		if err != nil {
			fail(c, atIndex(err, fmt.Sprintf("events[%d]", i)))
			return
		}
		evs[i] = ev
	}
	res, err := s.ingester.IngestMany(c.Request.Context(), evs)
	var badData *ingest.DataError
	if errors.As(err, &badData) {
		// events[3]/data/amount: the data's JSON pointer after the event.
		fail(c, invalid(fmt.Sprintf("events[%d]%s", badData.Index, badData.Path), "%s", badData.Msg))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	out := batchIngestAnswer{Data: make([]batchIngestItem, len(res))}
	for i, r := range res {
		out.Data[i] = batchIngestItem{ingestAnswer: toIngestAnswer(r.Event, r.Deliveries), IdempotentReplayed: !r.Created}
		s.metrics.countIngested(r.Created)
	}
	s.answerThenWake(c, out, res)
}

// decodeEvent reads one event of a batch and decides its tenant.
func (s *server) decodeEvent(c *gin.Context, raw json.RawMessage) (models.Event, error) {
	var in eventJSON
	if err := decodeBytes(raw, &in); err != nil {
		return models.Event{}, err
	}
	tenant, err := namedTenant(c, in.TenantID)
	if err != nil {
		return models.Event{}, err
	}
	ev, err := toEvent(in, "")
	ev.TenantID = tenant
	return ev, err
}

var leadingField = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.\[\]]*: `)

// atIndex prefixes an error's message with where in the batch it is:
// "type: required" becomes "events[3].type: required".
func atIndex(err error, at string) error {
	var inErr *input.Error
	if errors.As(err, &inErr) {
		return &input.Error{Path: at + "." + inErr.Path, Msg: inErr.Msg}
	}
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		return err
	}
	e := *apiErr
	if leadingField.MatchString(e.Message) {
		e.Message = at + "." + e.Message
	} else {
		e.Message = at + ": " + e.Message
	}
	return &e
}
