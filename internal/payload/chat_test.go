package payload

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

func tableUpdated(isTest bool) Message {
	return Message{
		ID:                "evt_1",
		EventType:         "entityUpdated",
		Timestamp:         time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		IsTest:            isTest,
		WebhookName:       "data-team",
		EntityType:        "table",
		Entity:            json.RawMessage(`{"id":"t1","name":"orders","fullyQualifiedName":"warehouse.sales.orders"}`),
		ChangeDescription: json.RawMessage(`{"fieldsAdded":[{"name":"tags"}],"fieldsUpdated":[{"name":"description","oldValue":"x","newValue":"y"}],"fieldsDeleted":[]}`),
	}
}

// chatText renders m for a chat type, checks the shape that service
// requires, and returns all the text a reader would see.
func chatText(t *testing.T, typ models.WebhookType, m Message) string {
	t.Helper()
	body := mustRender(t, typ, "", m)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s body is not JSON: %v\n%s", typ, err, body)
	}
	switch typ {
	case models.WebhookSlack:
		if s, _ := v["text"].(string); s == "" {
			t.Errorf("Slack body lacks fallback text: %s", body)
		}
		blocks, _ := v["blocks"].([]any)
		if len(blocks) == 0 {
			t.Fatalf("Slack body lacks blocks: %s", body)
		}
		for _, b := range blocks {
			if typ, _ := b.(map[string]any)["type"].(string); typ == "" {
				t.Errorf("Slack block without type: %v", b)
			}
		}
	case models.WebhookMSTeams:
		if v["type"] != "message" {
			t.Errorf(`Teams type = %v, want "message"`, v["type"])
		}
		att, _ := v["attachments"].([]any)
		if len(att) != 1 {
			t.Fatalf("Teams attachments = %v, want one", v["attachments"])
		}
		a := att[0].(map[string]any)
		if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
			t.Errorf("Teams contentType = %v", a["contentType"])
		}
		card, _ := a["content"].(map[string]any)
		if card["type"] != "AdaptiveCard" || card["version"] != "1.4" ||
			card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
			t.Errorf("Teams card header wrong: %v", card)
		}
		if body, _ := card["body"].([]any); len(body) == 0 {
			t.Errorf("Teams card has no body")
		}
	case models.WebhookGoogleChat:
		if s, _ := v["text"].(string); s == "" {
			t.Errorf("Google Chat body lacks text: %s", body)
		}
	}
	return strings.Join(strings.Fields(fmt.Sprint(v)), " ")
}

func TestChatFormatsShowTheFacts(t *testing.T) {
	for _, typ := range []models.WebhookType{models.WebhookSlack, models.WebhookMSTeams, models.WebhookGoogleChat} {
		t.Run(string(typ), func(t *testing.T) {
			text := chatText(t, typ, tableUpdated(false))
			for _, want := range []string{"entityUpdated", "table", "orders", "warehouse.sales.orders", "description", "tags", "data-team", "2024-01-15T10:30:00.000Z"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s message lacks %q: %s", typ, want, text)
				}
			}
			if strings.Contains(strings.ToLower(text), "test") {
				t.Errorf("%s message of a real event mentions test: %s", typ, text)
			}
			if text := chatText(t, typ, tableUpdated(true)); !strings.Contains(strings.ToLower(text), "test message") && !strings.Contains(text, "[Test]") {
				t.Errorf("%s test message lacks a test marker: %s", typ, text)
			}
		})
	}
}

func TestChatFormatsShowDataWithoutEntity(t *testing.T) {
	for _, typ := range []models.WebhookType{models.WebhookSlack, models.WebhookMSTeams, models.WebhookGoogleChat} {
		text := chatText(t, typ, runFailed())
		for _, want := range []string{"owox.data-marts.webhook.data_mart.run.failed", "run-xyz789"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s message lacks %q: %s", typ, want, text)
			}
		}
	}
}

func TestSlackEscapesMrkdwn(t *testing.T) {
	m := tableUpdated(false)
	m.Entity = json.RawMessage(`{"name":"<!channel> & co"}`)
	body := string(mustRender(t, models.WebhookSlack, "", m))
	if strings.Contains(body, "<!channel>") {
		t.Errorf("entity name reached Slack unescaped: %s", body)
	}
	if !strings.Contains(body, "&lt;!channel&gt; &amp; co") {
		t.Errorf("entity name not shown escaped: %s", body)
	}
}

func TestEntityName(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"name":"orders","fullyQualifiedName":"db.orders"}`, "orders (db.orders)"},
		{`{"name":"orders","fullyQualifiedName":"orders"}`, "orders"},
		{`{"fullyQualifiedName":"db.orders"}`, "db.orders"},
		{`{"displayName":"Orders"}`, "Orders"},
		{`["not","an","object"]`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := entityName(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("entityName(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	if got := truncate("héllo wörld", 5); got != "héll…" {
		t.Errorf("truncate = %q", got)
	}
	if got := slackEscape(strings.Repeat("<", 10), 12); got != "&lt;&lt;…" {
		t.Errorf("slackEscape cut badly: %q", got)
	}
	many := change{Kind: "updated"}
	for i := range maxChangedFields + 3 {
		many.Fields = append(many.Fields, fmt.Sprintf("f%d", i))
	}
	if got := many.fieldList(); !strings.HasSuffix(got, "f19 and 3 more") {
		t.Errorf("fieldList = %q", got)
	}
}
