package payload

import (
	"encoding/json"
	"fmt"
	"time"
)

// BatchEventType is the "event" of a batch body (models.BatchEventType).
const BatchEventType = "webhookd.batch"

// Batch is a batch delivery: several events sent to one webhook in one
// request.
type Batch struct {
	ID          string // the batch delivery's id (X-Webhook-ID, webhook-id)
	TenantID    string
	Timestamp   time.Time // when the batch was opened
	WebhookName string
	Events      []Message
}

// batchData is the data of a batch body.
type batchData struct {
	Count  int               `json:"count"`
	Events []json.RawMessage `json:"events"`
}

// RenderBatch returns a batch body: the generic envelope whose event is
// "webhookd.batch" and whose data holds {count, events}, each event exactly
// the envelope a one-event delivery would have sent. A receiver deduplicates
// the batch by its id and each event by the event's own id.
func RenderBatch(b Batch) ([]byte, error) {
	events := make([]json.RawMessage, 0, len(b.Events))
	for _, m := range b.Events {
		if err := checkRaw(m); err != nil {
			return nil, fmt.Errorf("render batch %s: event %q: %w", b.ID, m.ID, err)
		}
		body, err := envelope(m)
		if err != nil {
			return nil, fmt.Errorf("render batch %s: event %q: %w", b.ID, m.ID, err)
		}
		events = append(events, body)
	}
	data, err := marshal(batchData{Count: len(events), Events: events})
	if err != nil {
		return nil, fmt.Errorf("render batch %s: %w", b.ID, err)
	}
	return envelope(Message{
		ID: b.ID, EventType: BatchEventType, TenantID: b.TenantID, Timestamp: b.Timestamp,
		WebhookName: b.WebhookName, Data: data,
	})
}
