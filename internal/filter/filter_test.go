package filter

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func event(t *testing.T, typ, entityType, entity, change string) Event {
	t.Helper()
	ev, err := ParseEvent(typ, entityType, json.RawMessage(entity), json.RawMessage(change))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRules(t *testing.T) {
	table := `{"name":"customers","domain":{"type":"domain","name":"Sales"},"tier":"Gold","rows":15,"tags":[{"tagFQN":"PII.Sensitive"}]}`
	tagsChanged := `{"fieldsUpdated":[{"name":"tags"}],"fieldsAdded":[{"name":"columns.customer_id.description"}]}`
	ev := event(t, "entityUpdated", "table", table, tagsChanged)
	cases := []struct {
		name string
		f    models.EventFilter
		want bool
	}{
		{"exact type", models.EventFilter{EventType: "entityUpdated"}, true},
		{"other type", models.EventFilter{EventType: "entityCreated"}, false},
		{"star", models.EventFilter{EventType: "*"}, true},
		{"glob", models.EventFilter{EventType: "entity*"}, true},
		{"glob miss", models.EventFilter{EventType: "ingestion.*"}, false},
		{"entity listed", models.EventFilter{EventType: "*", Entities: []string{"dashboard", "table"}}, true},
		{"entity case-insensitive", models.EventFilter{EventType: "*", Entities: []string{"Table"}}, true},
		{"entity star", models.EventFilter{EventType: "*", Entities: []string{"*"}}, true},
		{"entity not listed", models.EventFilter{EventType: "*", Entities: []string{"dashboard"}}, false},
		{"include changed field", models.EventFilter{EventType: "*", Include: []string{"owner", "tags"}}, true},
		{"include nested last segment", models.EventFilter{EventType: "*", Include: []string{"description"}}, true},
		{"include nested first segment", models.EventFilter{EventType: "*", Include: []string{"columns"}}, true},
		{"include unchanged field", models.EventFilter{EventType: "*", Include: []string{"owner"}}, false},
		{"include key:value object name", models.EventFilter{EventType: "*", Include: []string{"domain:Sales"}}, true},
		{"include key:value other", models.EventFilter{EventType: "*", Include: []string{"domain:Marketing"}}, false},
		{"include key:value string", models.EventFilter{EventType: "*", Include: []string{"tier:Gold"}}, true},
		{"include key:value number", models.EventFilter{EventType: "*", Include: []string{"rows:15"}}, true},
		{"include key:value array tagFQN", models.EventFilter{EventType: "*", Include: []string{"tags:PII.Sensitive"}}, true},
		{"include missing key", models.EventFilter{EventType: "*", Include: []string{"owner:bob"}}, false},
		{"exclude beats include", models.EventFilter{EventType: "*", Include: []string{"tags"}, Exclude: []string{"domain:Sales"}}, false},
		{"exclude not matching", models.EventFilter{EventType: "*", Exclude: []string{"owner"}}, true},
	}
	for _, c := range cases {
		if got := Matches([]models.EventFilter{c.f}, ev); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
	if Matches([]models.EventFilter{{EventType: "entityCreated"}, {EventType: "entityUpdated", Entities: []string{"table"}}}, ev) != true {
		t.Error("any matching filter should match")
	}
}

// TestOpenMetadataExamples checks the six documented webhooks' filters.
func TestOpenMetadataExamples(t *testing.T) {
	raw, err := os.ReadFile("../../api/testdata/openmetadata_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		Name         string               `json:"name"`
		EventFilters []models.EventFilter `json:"eventFilters"`
	}
	if err := json.Unmarshal(raw, &hooks); err != nil {
		t.Fatal(err)
	}
	filters := map[string][]models.EventFilter{}
	for _, h := range hooks {
		if err := Validate(h.EventFilters); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		filters[h.Name] = h.EventFilters
	}
	updated := func(entityType, entity string, fields ...string) Event {
		var ch []string
		for _, f := range fields {
			ch = append(ch, `{"name":"`+f+`"}`)
		}
		return event(t, "entityUpdated", entityType, entity, `{"fieldsUpdated":[`+strings.Join(ch, ",")+`]}`)
	}
	cases := []struct {
		hook  string
		ev    Event
		match bool
	}{
		{"SlackTableNotifications", event(t, "entityCreated", "table", `{}`, ``), true},
		{"SlackTableNotifications", updated("table", `{}`, "owner"), true},
		{"SlackTableNotifications", updated("table", `{}`, "columns"), false},
		{"SlackTableNotifications", event(t, "entityCreated", "dashboard", `{}`, ``), false},
		{"QualityTestWebhook", updated("testCase", `{}`, "testCaseResult"), true},
		{"QualityTestWebhook", updated("testCase", `{}`, "description"), false},
		{"CustomAppIntegration", event(t, "entityDeleted", "pipeline", `{}`, ``), true},
		{"CustomAppIntegration", event(t, "entitySoftDeleted", "pipeline", `{}`, ``), false},
		{"MSTeamsAlerts", event(t, "entityDeleted", "dashboard", `{}`, ``), true},
		{"MSTeamsAlerts", updated("policy", `{}`, "rules"), true},
		{"MSTeamsAlerts", updated("table", `{}`, "rules"), false},
		{"OwnerFollowerNotifications", updated("dashboard", `{}`, "tier"), true},
		{"OwnerFollowerNotifications", updated("dashboard", `{}`, "owner"), false},
		{"SalesDomainWebhook", event(t, "entityCreated", "table", `{"domain":{"type":"domain","name":"Sales"}}`, ``), true},
		{"SalesDomainWebhook", event(t, "entityCreated", "table", `{"domain":{"type":"domain","name":"Marketing"}}`, ``), false},
		{"SalesDomainWebhook", updated("dashboard", `{"domain":"Sales"}`, "description"), true},
	}
	for i, c := range cases {
		if got := Matches(filters[c.hook], c.ev); got != c.match {
			t.Errorf("case %d %s on %s %s: %v, want %v", i, c.hook, c.ev.Type, c.ev.EntityType, got, c.match)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		filters []models.EventFilter
		want    string
	}{
		{nil, "eventFilters: at least one filter is required"},
		{[]models.EventFilter{{EventType: ""}}, "eventFilters[0].eventType: required"},
		{[]models.EventFilter{{EventType: "*"}, {EventType: "a[b"}}, "eventFilters[1].eventType: bad pattern"},
		{[]models.EventFilter{{EventType: "*", Entities: []string{" "}}}, "eventFilters[0].entities[0]: must not be empty"},
		{[]models.EventFilter{{EventType: "*", Include: []string{"domain:"}}}, "eventFilters[0].include[0]"},
		{[]models.EventFilter{{EventType: "*", Exclude: []string{":Sales"}}}, "eventFilters[0].exclude[0]"},
	}
	for _, c := range cases {
		err := Validate(c.filters)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.filters, err, c.want)
		}
	}
	if err := Validate([]models.EventFilter{{EventType: "ingestion.*", Include: []string{"domain:Sales", "tags"}}}); err != nil {
		t.Fatal(err)
	}
}

func TestParseEventErrors(t *testing.T) {
	if _, err := ParseEvent("x", "", json.RawMessage(`[1]`), nil); err == nil || !strings.Contains(err.Error(), "entity must be a JSON object") {
		t.Fatalf("array entity: %v", err)
	}
	if _, err := ParseEvent("x", "", nil, json.RawMessage(`"nope"`)); err == nil {
		t.Fatal("string changeDescription accepted")
	}
	if _, err := ParseEvent("x", "", json.RawMessage(`null`), json.RawMessage(` `)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkMatches(b *testing.B) {
	ev, _ := ParseEvent("entityUpdated", "table", json.RawMessage(`{"domain":{"name":"Sales"}}`),
		json.RawMessage(`{"fieldsUpdated":[{"name":"tags"},{"name":"columns.a.description"}]}`))
	filters := []models.EventFilter{
		{EventType: "entityCreated", Entities: []string{"table"}},
		{EventType: "entity*", Entities: []string{"dashboard", "table"}, Include: []string{"description", "domain:Sales"}, Exclude: []string{"owner"}},
	}
	b.ReportAllocs()
	for b.Loop() {
		if !Matches(filters, ev) {
			b.Fatal("should match")
		}
	}
}
