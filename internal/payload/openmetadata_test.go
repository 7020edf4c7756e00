package payload

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

// omEvent is the example event of OpenMetadata's webhook docs, as a
// producer would post it (whitespace and all).
func omEvent() Message {
	return Message{
		ID:          "123e4567-e89b-12d3-a456-426614174000",
		EventType:   "entityUpdated",
		TenantID:    "default",
		Timestamp:   time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC),
		WebhookName: "SlackTableNotifications",
		EntityType:  "table",
		Entity: json.RawMessage(`{"id": "456e7890-e89b-12d3-a456-426614174111", "type": "table", "name": "customers",
			"fullyQualifiedName": "snowflake_prod.sales.public.customers", "description": "Customer information table",
			"owner": {"type": "user", "name": "john.doe"}, "tags": [{"tagFQN": "PII.Sensitive"}]}`),
		ChangeDescription: json.RawMessage(`{"fieldsAdded": [], "fieldsUpdated": [{"name": "tags", "oldValue": [],
			"newValue": [{"tagFQN": "PII.Sensitive"}]}], "fieldsDeleted": []}`),
	}
}

// omUnsigned is omEvent's openmetadata body without a secret.
const omUnsigned = `{"eventId":"123e4567-e89b-12d3-a456-426614174000","eventType":"entityUpdated","timestamp":1705320000000,` +
	`"entity":{"id":"456e7890-e89b-12d3-a456-426614174111","type":"table","name":"customers",` +
	`"fullyQualifiedName":"snowflake_prod.sales.public.customers","description":"Customer information table",` +
	`"owner":{"type":"user","name":"john.doe"},"tags":[{"tagFQN":"PII.Sensitive"}]},` +
	`"changeDescription":{"fieldsAdded":[],"fieldsUpdated":[{"name":"tags","oldValue":[],` +
	`"newValue":[{"tagFQN":"PII.Sensitive"}]}],"fieldsDeleted":[]},"webhookName":"SlackTableNotifications"}`

// omSigned is omEvent's body signed with omSecret. The signature was
// computed outside Go, over omUnsigned, with the secret as written:
//
//	printf '%s' "$omUnsigned" | openssl dgst -sha256 -hmac whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
const (
	omSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	omSigned = `{"eventId":"123e4567-e89b-12d3-a456-426614174000","eventType":"entityUpdated","timestamp":1705320000000,` +
		`"entity":{"id":"456e7890-e89b-12d3-a456-426614174111","type":"table","name":"customers",` +
		`"fullyQualifiedName":"snowflake_prod.sales.public.customers","description":"Customer information table",` +
		`"owner":{"type":"user","name":"john.doe"},"tags":[{"tagFQN":"PII.Sensitive"}]},` +
		`"changeDescription":{"fieldsAdded":[],"fieldsUpdated":[{"name":"tags","oldValue":[],` +
		`"newValue":[{"tagFQN":"PII.Sensitive"}]}],"fieldsDeleted":[]},"webhookName":"SlackTableNotifications",` +
		`"signature":"sha256=03b39772ccfc316146dbfdc64594d280b02f7578a27c7c7e80d82a7dc3146695"}`
)

func renderOM(t *testing.T, m Message, secret string) []byte {
	t.Helper()
	body, err := Render(context.Background(), models.WebhookGeneric, Options{Format: FormatOpenMetadata, Secret: secret}, m)
	if err != nil {
		t.Fatalf("Render(openmetadata): %v", err)
	}
	return body
}

func TestOpenMetadataGolden(t *testing.T) {
	if got := string(renderOM(t, omEvent(), "")); got != omUnsigned {
		t.Errorf("unsigned:\n got %s\nwant %s", got, omUnsigned)
	}
	if got := string(renderOM(t, omEvent(), omSecret)); got != omSigned {
		t.Errorf("signed:\n got %s\nwant %s", got, omSigned)
	}
}

func TestOpenMetadataTimestampIsEpochMillis(t *testing.T) {
	m := omEvent()
	// 14:00:05.123456789 at UTC+2 is 12:00:05.123 UTC; the rest is cut, not rounded.
	m.Timestamp = time.Date(2024, 1, 15, 14, 0, 5, 123999999, time.FixedZone("CEST", 2*3600))
	dec := json.NewDecoder(bytes.NewReader(renderOM(t, m, "")))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	n, ok := body["timestamp"].(json.Number)
	if !ok {
		t.Fatalf("timestamp = %#v, want a JSON number", body["timestamp"])
	}
	if n != "1705320005123" {
		t.Errorf("timestamp = %s, want 1705320005123", n)
	}
}

func TestOpenMetadataPassesEntityThrough(t *testing.T) {
	m := omEvent()
	var body struct{ Entity, ChangeDescription json.RawMessage }
	if err := json.Unmarshal(renderOM(t, m, omSecret), &body); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name      string
		got, sent json.RawMessage
	}{{"entity", body.Entity, m.Entity}, {"changeDescription", body.ChangeDescription, m.ChangeDescription}} {
		var got, want any
		if err := json.Unmarshal(f.got, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(f.sent, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %s, want %s", f.name, f.got, f.sent)
		}
	}
}

func TestOpenMetadataAbsentFieldsAndData(t *testing.T) {
	entity := json.RawMessage(`{"name":"orders"}`)
	data := json.RawMessage(`{"orderId": 42}`)
	base := Message{ID: "e1", EventType: "order.created", Timestamp: time.UnixMilli(1705320000000), WebhookName: "w"}
	with := func(edit func(m *Message)) Message { m := base; edit(&m); return m }
	const head = `{"eventId":"e1","eventType":"order.created","timestamp":1705320000000,`
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"nothing: nulls, no data", base,
			head + `"entity":null,"changeDescription":null,"webhookName":"w"}`},
		{"null and blank count as absent", with(func(m *Message) {
			m.Entity, m.ChangeDescription, m.Data = json.RawMessage("null"), json.RawMessage(" "), json.RawMessage("null")
		}),
			head + `"entity":null,"changeDescription":null,"webhookName":"w"}`},
		{"data without entity is kept", with(func(m *Message) { m.Data = data }),
			head + `"entity":null,"changeDescription":null,"data":{"orderId":42},"webhookName":"w"}`},
		{"data with entity is left out", with(func(m *Message) { m.Entity, m.Data = entity, data }),
			head + `"entity":{"name":"orders"},"changeDescription":null,"webhookName":"w"}`},
		{"test events say so", with(func(m *Message) { m.IsTest = true }),
			head + `"isTest":true,"entity":null,"changeDescription":null,"webhookName":"w"}`},
		{"no HTML escaping", with(func(m *Message) { m.Entity = json.RawMessage(`{"d":"a<b & c>d"}`) }),
			head + `"entity":{"d":"a<b & c>d"},"changeDescription":null,"webhookName":"w"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(renderOM(t, tt.m, "")); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// signatureSuffix matches the signature field, which must end the body.
var signatureSuffix = regexp.MustCompile(`,"signature":"sha256=([0-9a-f]{64})"}$`)

// TestOpenMetadataSignatureField checks the field as a receiver would:
// cut it out of the raw body and HMAC the rest with the secret's bytes.
func TestOpenMetadataSignatureField(t *testing.T) {
	m := omEvent()
	m.Entity = json.RawMessage(`{"name":"Kundentabelle – ünïcødé 日本語 🚀","signature":"not this one"}`)
	for _, secret := range []string{omSecret, "plain-secret", "sécret"} {
		body := renderOM(t, m, secret)
		match := signatureSuffix.FindSubmatchIndex(body)
		if match == nil {
			t.Fatalf("secret %q: body does not end with the signature field: %s", secret, body)
		}
		unsigned := append(bytes.Clone(body[:match[0]]), '}')
		if want := renderOM(t, m, ""); !bytes.Equal(unsigned, want) {
			t.Errorf("secret %q: body without its signature field\n got %s\nwant the unsigned body %s", secret, unsigned, want)
		}
		mac := hmac.New(sha256.New, []byte(secret)) // the secret as written, even a whsec_ one
		mac.Write(unsigned)
		if got, want := string(body[match[2]:match[3]]), hex.EncodeToString(mac.Sum(nil)); got != want {
			t.Errorf("secret %q: signature field %s, want %s", secret, got, want)
		}
	}
}

func TestOpenMetadataNoSecretNoSignature(t *testing.T) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(renderOM(t, omEvent(), ""), &body); err != nil {
		t.Fatal(err)
	}
	if sig, ok := body["signature"]; ok {
		t.Errorf("signature without a secret: %s", sig)
	}
}
