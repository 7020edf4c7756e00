package payload

import (
	"encoding/json"
	"fmt"

	"github.com/webhookd/webhookd/internal/signing"
)

// openMetadataBody is the openmetadata payload format: the body a receiver
// written from OpenMetadata's webhook docs expects. The key order is fixed;
// receivers see these keys in this order, so do not reorder the fields.
//
//	{"eventId","eventType","timestamp","isTest"?,"entity","changeDescription",
//	 "data"?,"webhookName","signature"?}
//
// entity and changeDescription are always present and null when the event
// has none, so receivers can index into the body without checking for keys.
// isTest (test events only) and data are webhookd's additions; data is sent
// only when the event has data but no entity, so that events from
// producers that are not OpenMetadata keep their content. signature must
// stay last: it signs the body without itself (see withSignature).
type openMetadataBody struct {
	EventID           string          `json:"eventId"`
	EventType         string          `json:"eventType"`
	Timestamp         int64           `json:"timestamp"` // epoch milliseconds
	IsTest            bool            `json:"isTest,omitempty"`
	Entity            json.RawMessage `json:"entity"`
	ChangeDescription json.RawMessage `json:"changeDescription"`
	Data              json.RawMessage `json:"data,omitempty"`
	WebhookName       string          `json:"webhookName"`
	Signature         string          `json:"signature,omitempty"`
}

// openMetadata renders the openmetadata body. A non-empty secret adds the
// signature field. The tenant is not part of this format.
func openMetadata(m Message, secret string) ([]byte, error) {
	b := openMetadataBody{
		EventID:           m.ID,
		EventType:         m.EventType,
		Timestamp:         m.Timestamp.UnixMilli(),
		IsTest:            m.IsTest,
		Entity:            present(m.Entity),
		ChangeDescription: present(m.ChangeDescription),
		WebhookName:       m.WebhookName,
	}
	if b.Entity == nil {
		b.Data = present(m.Data)
	}
	body, err := marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode openmetadata body: %w", err)
	}
	if secret == "" {
		return body, nil
	}
	return withSignature(b, body, secret)
}

// withSignature adds the signature field. A body cannot carry an HMAC of
// itself, so the field is "sha256=<hex HMAC-SHA256>" of the body rendered
// without it (unsigned), keyed like X-OpenMetadata-Signature (the secret's
// UTF-8 bytes). Because signature is the last key, a receiver recovers the
// signed bytes by cutting the final `,"signature":"sha256=<64 hex>"` out of
// the raw body; X-OpenMetadata-Signature covers the final body.
func withSignature(b openMetadataBody, unsigned []byte, secret string) ([]byte, error) {
	b.Signature = signing.OpenMetadataSignature(secret, unsigned)
	body, err := marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode signed openmetadata body: %w", err)
	}
	return body, nil
}
