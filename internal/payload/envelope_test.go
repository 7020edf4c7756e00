package payload

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

func runFailed() Message {
	return Message{
		ID:          "550e8400-e29b-41d4-a716-446655440000",
		EventType:   "owox.data-marts.webhook.data_mart.run.failed",
		Timestamp:   time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		WebhookName: "ops-alerts",
		Data:        json.RawMessage(`{"projectId": "my-project-id", "run": {"id": "run-xyz789", "status": "FAILED"}}`),
	}
}

func mustRender(t *testing.T, typ models.WebhookType, tmpl string, m Message) []byte {
	t.Helper()
	body, err := Render(context.Background(), typ, Options{Template: tmpl}, m)
	if err != nil {
		t.Fatalf("Render(%s): %v", typ, err)
	}
	return body
}

func TestEnvelopeGolden(t *testing.T) {
	const want = envelopeGolden
	if got := string(mustRender(t, models.WebhookGeneric, "", runFailed())); got != want {
		t.Errorf("envelope:\n got %s\nwant %s", got, want)
	}
}

func TestEnvelopeIsTestOnlyOnTestMessages(t *testing.T) {
	m := runFailed()
	m.IsTest = true
	const want = `{"id":"550e8400-e29b-41d4-a716-446655440000","version":"1",` +
		`"event":"owox.data-marts.webhook.data_mart.run.failed","timestamp":"2024-01-15T10:30:00.000Z",` +
		`"isTest":true,"webhookName":"ops-alerts","data":{"projectId":"my-project-id","run":{"id":"run-xyz789","status":"FAILED"}}}`
	if got := string(mustRender(t, models.WebhookGeneric, "", m)); got != want {
		t.Errorf("test envelope:\n got %s\nwant %s", got, want)
	}
	if got := mustRender(t, models.WebhookGeneric, "", runFailed()); strings.Contains(string(got), "isTest") {
		t.Errorf("isTest present on a real event: %s", got)
	}
}

func TestEnvelopeTimestampIsUTCWithMillis(t *testing.T) {
	m := runFailed()
	m.Timestamp = time.Date(2024, 1, 15, 12, 30, 5, 123456789, time.FixedZone("CEST", 2*3600))
	var env struct{ Timestamp string }
	if err := json.Unmarshal(mustRender(t, models.WebhookGeneric, "", m), &env); err != nil {
		t.Fatal(err)
	}
	if want := "2024-01-15T10:30:05.123Z"; env.Timestamp != want {
		t.Errorf("timestamp = %q, want %q", env.Timestamp, want)
	}
}

func TestEnvelopeDataSynthesis(t *testing.T) {
	entity := json.RawMessage(`{"id":"t1","name":"orders"}`)
	cd := json.RawMessage(`{"fieldsAdded":[],"fieldsUpdated":[{"name":"description","oldValue":"a","newValue":"b"}],"fieldsDeleted":[]}`)
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"all", Message{EntityType: "table", Entity: entity, ChangeDescription: cd},
			`{"entityType":"table","entity":{"id":"t1","name":"orders"},"changeDescription":` + string(cd) + `}`},
		{"entity only", Message{Entity: entity}, `{"entity":{"id":"t1","name":"orders"}}`},
		{"type only", Message{EntityType: "table"}, `{"entityType":"table"}`},
		{"none", Message{}, `{}`},
		{"null and blank count as absent", Message{Entity: json.RawMessage("null"), ChangeDescription: json.RawMessage(" "), Data: json.RawMessage("null")}, `{}`},
		{"data wins", Message{EntityType: "table", Entity: entity, Data: json.RawMessage(`[1, 2]`)}, `[1,2]`},
		{"no HTML escaping", Message{Entity: json.RawMessage(`{"d":"a<b & c>d"}`)}, `{"entity":{"d":"a<b & c>d"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env struct{ Data json.RawMessage }
			if err := json.Unmarshal(mustRender(t, models.WebhookGeneric, "", tt.m), &env); err != nil {
				t.Fatal(err)
			}
			if string(env.Data) != tt.want {
				t.Errorf("data = %s, want %s", env.Data, tt.want)
			}
		})
	}
}

func TestCustomWithoutTemplateIsEnvelope(t *testing.T) {
	want := mustRender(t, models.WebhookGeneric, "", runFailed())
	for _, tmpl := range []string{"", " \n\t"} {
		if got := mustRender(t, models.WebhookCustom, tmpl, runFailed()); string(got) != string(want) {
			t.Errorf("Custom with template %q = %s, want envelope %s", tmpl, got, want)
		}
	}
}

func TestRenderRejects(t *testing.T) {
	bad := runFailed()
	bad.Entity = json.RawMessage(`{"name":`)
	tests := []struct {
		name    string
		typ     models.WebhookType
		format  Format
		m       Message
		wantErr string
	}{
		{"unknown type", "Discord", "", runFailed(), `unknown webhook type "Discord"`},
		{"invalid entity JSON", models.WebhookGeneric, "", bad, "entity is not valid JSON"},
		{"invalid entity JSON in chat", models.WebhookSlack, "", bad, "entity is not valid JSON"},
		{"invalid entity JSON in openmetadata", models.WebhookGeneric, FormatOpenMetadata, bad, "entity is not valid JSON"},
		{"unknown format", models.WebhookGeneric, "cloudevents", runFailed(), `payload format "cloudevents" does not apply`},
		{"openmetadata for Slack", models.WebhookSlack, FormatOpenMetadata, runFailed(), `payload format "openmetadata" does not apply to Slack`},
		{"openmetadata for Custom", models.WebhookCustom, FormatOpenMetadata, runFailed(), `payload format "openmetadata" does not apply to Custom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), tt.typ, Options{Format: tt.format}, tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.m.ID) {
				t.Errorf("error does not name the event: %v", err)
			}
		})
	}
}
