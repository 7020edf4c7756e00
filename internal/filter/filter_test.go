package filter

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func parse(t testing.TB, typ, entityType, entity, change string) Event {
	t.Helper()
	ev, err := ParseEvent(typ, entityType, json.RawMessage(entity), json.RawMessage(change))
	if err != nil {
		t.Fatalf("ParseEvent(%s, %s): %v", entity, change, err)
	}
	return ev
}

type matchCase struct {
	name string
	f    models.EventFilter
	ev   Event
	want bool
}

func runMatches(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		if got := Matches([]models.EventFilter{c.f}, c.ev); got != c.want {
			t.Errorf("%s: Matches(%+v, %s %s %v) = %v, want %v",
				c.name, c.f, c.ev.Type, c.ev.EntityType, c.ev.Changed, got, c.want)
		}
	}
}

func TestEntities(t *testing.T) {
	table := Event{Type: "entityCreated", EntityType: "table"}
	testCase := Event{Type: "entityCreated", EntityType: "testcase"}
	none := Event{Type: "entityCreated"}
	f := func(entities ...string) models.EventFilter {
		return models.EventFilter{EventType: "*", Entities: entities}
	}
	runMatches(t, []matchCase{
		{"no entities", f(), table, true},
		{"no entities, no entityType", f(), none, true},
		{"listed", f("dashboard", "table"), table, true},
		{"not listed", f("dashboard", "pipeline"), table, false},
		{"star", f("*"), table, true},
		{"star, no entityType", f("*"), none, true},
		{"listed, no entityType", f("table"), none, false},
		{"case folded", f("testCase"), testCase, true},
		{"case folded the other way", f("TABLE"), table, true},
		{"prefix is not a match", f("tab"), table, false},
	})
}

func TestFieldTerms(t *testing.T) {
	ev := parse(t, "entityUpdated", "table", `{}`, `{
		"fieldsAdded":   [{"name": "columns.customer_id.description", "newValue": "id"}],
		"fieldsUpdated": [{"name": "tags", "oldValue": [], "newValue": [{"tagFQN": "PII.Sensitive"}]}],
		"fieldsDeleted": [{"name": "owner"}]}`)
	created := parse(t, "entityCreated", "table", `{"tags": []}`, ``)
	inc := func(terms ...string) models.EventFilter {
		return models.EventFilter{EventType: "*", Include: terms}
	}
	runMatches(t, []matchCase{
		{"updated field", inc("tags"), ev, true},
		{"deleted field", inc("owner"), ev, true},
		{"added nested, last segment", inc("description"), ev, true},
		{"added nested, first segment", inc("columns"), ev, true},
		{"added nested, whole path", inc("columns.customer_id.description"), ev, true},
		{"added nested, leading run", inc("columns.customer_id"), ev, true},
		{"added nested, trailing run", inc("customer_id.description"), ev, true},
		{"middle segment", inc("customer_id"), ev, false},
		{"part of a segment", inc("descr"), ev, false},
		{"part of a segment at the end", inc("ription"), ev, false},
		{"field names are case-sensitive", inc("Tags"), ev, false},
		{"unchanged field", inc("name"), ev, false},
		{"one of several", inc("name", "owner"), ev, true},
		{"no changeDescription", inc("tags"), created, false},
	})
}

func TestValueTerms(t *testing.T) {
	entity := `{
		"name": "customers",
		"domain": {"type": "domain", "name": "Sales", "fullyQualifiedName": "Org.Sales"},
		"owner": {"type": "user", "name": "john.doe"},
		"tier": "Gold", "rows": 15, "ratio": 0.5, "big": 12345678901234567890,
		"deleted": false, "retired": null, "uri": "s3://bucket/x",
		"tags": [{"tagFQN": "PII.Sensitive"}, {"tagFQN": "Tier.Tier1"}],
		"labels": ["gold", "daily"], "nested": [["x"]]}`
	ev := parse(t, "entityCreated", "table", entity, ``)
	plain := parse(t, "entityCreated", "table", `{"domain": "Sales"}`, ``)
	byHand := Event{Type: "entityCreated", Entity: map[string]any{"rows": float64(15), "ok": true}}
	inc := func(terms ...string) models.EventFilter {
		return models.EventFilter{EventType: "*", Include: terms}
	}
	runMatches(t, []matchCase{
		{"object name", inc("domain:Sales"), ev, true},
		{"object fullyQualifiedName", inc("domain:Org.Sales"), ev, true},
		{"object other name", inc("domain:Marketing"), ev, false},
		{"values are case-sensitive", inc("domain:sales"), ev, false},
		{"object type is not compared", inc("owner:user"), ev, false},
		{"plain string", inc("domain:Sales"), plain, true},
		{"plain string, other", inc("domain:Marketing"), plain, false},
		{"string", inc("tier:Gold"), ev, true},
		{"number", inc("rows:15"), ev, true},
		{"number, other", inc("rows:16"), ev, false},
		{"number compares JSON text", inc("rows:15.0"), ev, false},
		{"fraction", inc("ratio:0.5"), ev, true},
		{"number beyond float64", inc("big:12345678901234567890"), ev, true},
		{"bool", inc("deleted:false"), ev, true},
		{"bool, other", inc("deleted:true"), ev, false},
		{"null never matches", inc("retired:null"), ev, false},
		{"missing key", inc("team:x"), ev, false},
		{"array of tag references", inc("tags:PII.Sensitive"), ev, true},
		{"array of tag references, prefix", inc("tags:PII"), ev, false},
		{"array of strings", inc("labels:daily"), ev, true},
		{"array of strings, other", inc("labels:hourly"), ev, false},
		{"nested arrays are not searched", inc("nested:x"), ev, false},
		{"split on the first colon", inc("uri:s3://bucket/x"), ev, true},
		{"nil entity", inc("domain:Sales"), Event{Type: "entityCreated"}, false},
		{"float64 built by hand", inc("rows:15"), byHand, true},
		{"bool built by hand", inc("ok:true"), byHand, true},
	})
}

func TestIncludeExclude(t *testing.T) {
	ev := parse(t, "entityUpdated", "table", `{"domain": {"name": "Sales"}}`,
		`{"fieldsUpdated": [{"name": "tags"}]}`)
	f := func(include, exclude []string) models.EventFilter {
		return models.EventFilter{EventType: "*", Include: include, Exclude: exclude}
	}
	runMatches(t, []matchCase{
		{"neither", f(nil, nil), ev, true},
		{"include hit", f([]string{"owner", "tags"}, nil), ev, true},
		{"include miss", f([]string{"owner"}, nil), ev, false},
		{"exclude hit", f(nil, []string{"tags"}), ev, false},
		{"exclude miss", f(nil, []string{"owner", "domain:Marketing"}), ev, true},
		{"exclude beats include, same term", f([]string{"tags"}, []string{"tags"}), ev, false},
		{"exclude value beats include field", f([]string{"tags"}, []string{"domain:Sales"}), ev, false},
		{"include hit, exclude miss", f([]string{"domain:Sales"}, []string{"owner"}), ev, true},
	})
	// Every part must hold: a matching include does not rescue a wrong
	// type or entity.
	runMatches(t, []matchCase{
		{"wrong type", models.EventFilter{EventType: "entityCreated", Include: []string{"tags"}}, ev, false},
		{"wrong entity", models.EventFilter{EventType: "*", Entities: []string{"topic"}, Include: []string{"tags"}}, ev, false},
	})
}

func TestMatchesAnyFilter(t *testing.T) {
	ev := Event{Type: "entityUpdated", EntityType: "table"}
	miss := models.EventFilter{EventType: "entityCreated"}
	hit := models.EventFilter{EventType: "entityUpdated", Entities: []string{"table"}}
	for _, c := range []struct {
		filters []models.EventFilter
		want    bool
	}{
		{nil, false},
		{[]models.EventFilter{miss}, false},
		{[]models.EventFilter{miss, hit}, true},
		{[]models.EventFilter{hit, miss}, true},
	} {
		if got := Matches(c.filters, ev); got != c.want {
			t.Errorf("Matches(%+v) = %v, want %v", c.filters, got, c.want)
		}
	}
}

// useCases loads the six webhooks of OpenMetadata's "Use Cases", copied as
// written from its documentation.
func useCases(t testing.TB) map[string][]models.EventFilter {
	raw, err := os.ReadFile("testdata/openmetadata_use_cases.json")
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
	out := map[string][]models.EventFilter{}
	for _, h := range hooks {
		out[h.Name] = h.EventFilters
	}
	if len(out) != 6 {
		t.Fatalf("%d use cases, want 6", len(out))
	}
	return out
}

func TestOpenMetadataUseCases(t *testing.T) {
	hooks := useCases(t)
	for name, filters := range hooks {
		if err := Validate(filters); err != nil {
			t.Errorf("%s is rejected: %v", name, err)
		}
	}
	updated := func(entityType, entity string, fields ...string) Event {
		var ch []string
		for _, f := range fields {
			ch = append(ch, `{"name":"`+f+`"}`)
		}
		return parse(t, "entityUpdated", entityType, entity, `{"fieldsUpdated":[`+strings.Join(ch, ",")+`]}`)
	}
	event := func(typ, entityType, entity string) Event { return parse(t, typ, entityType, entity, ``) }
	sales := `{"domain":{"type":"domain","name":"Sales"}}`
	marketing := `{"domain":{"type":"domain","name":"Marketing"}}`
	cases := []struct {
		hook string
		ev   Event
		want bool
	}{
		{"SlackTableNotifications", event("entityCreated", "table", `{}`), true},
		{"SlackTableNotifications", updated("table", `{}`, "owner"), true},
		{"SlackTableNotifications", updated("table", `{}`, "columns.id.description"), true},
		{"SlackTableNotifications", updated("table", `{}`, "columns"), false},
		{"SlackTableNotifications", event("entityCreated", "dashboard", `{}`), false},
		{"SlackTableNotifications", event("entityDeleted", "table", `{}`), false},
		{"QualityTestWebhook", updated("testCase", `{}`, "testCaseResult"), true},
		{"QualityTestWebhook", updated("testcase", `{}`, "testCaseResult.testCaseStatus"), true},
		{"QualityTestWebhook", updated("testCase", `{}`, "description"), false},
		{"QualityTestWebhook", event("entityCreated", "testCase", `{}`), false},
		{"CustomAppIntegration", event("entityDeleted", "pipeline", `{}`), true},
		{"CustomAppIntegration", updated("glossaryTerm", `{}`, "synonyms"), true},
		{"CustomAppIntegration", event("entitySoftDeleted", "pipeline", `{}`), false},
		{"MSTeamsAlerts", event("entityDeleted", "dashboard", `{}`), true},
		{"MSTeamsAlerts", updated("policy", `{}`, "rules"), true},
		{"MSTeamsAlerts", event("entityDeleted", "topic", `{}`), false},
		{"MSTeamsAlerts", updated("table", `{}`, "rules"), false},
		{"OwnerFollowerNotifications", updated("dashboard", `{}`, "tier"), true},
		{"OwnerFollowerNotifications", updated("table", `{}`, "owner"), false},
		{"SalesDomainWebhook", event("entityCreated", "table", sales), true},
		{"SalesDomainWebhook", updated("dashboard", `{"domain":"Sales"}`, "description"), true},
		{"SalesDomainWebhook", event("entityCreated", "table", marketing), false},
		{"SalesDomainWebhook", event("entityCreated", "table", `{}`), false},
		{"SalesDomainWebhook", event("entityCreated", "pipeline", sales), false},
	}
	seen := map[string][2]bool{}
	for _, c := range cases {
		if got := Matches(hooks[c.hook], c.ev); got != c.want {
			t.Errorf("%s on %s %s %v: %v, want %v", c.hook, c.ev.Type, c.ev.EntityType, c.ev.Changed, got, c.want)
		}
		s := seen[c.hook]
		if c.want {
			s[0] = true
		} else {
			s[1] = true
		}
		seen[c.hook] = s
	}
	for name := range hooks {
		if seen[name] != [2]bool{true, true} {
			t.Errorf("%s needs both a matching and a non-matching case", name)
		}
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	hooks := useCases(t)
	ev := parse(t, "entityUpdated", "table", `{"domain":{"name":"Sales"},"rows":15,"tags":[{"tagFQN":"A.B"}]}`,
		`{"fieldsUpdated":[{"name":"columns.a_rather_long_column_name.description"}]}`)
	extra := []models.EventFilter{{EventType: "entity[UC]*", Include: []string{"rows:15", "tags:A.B"}, Exclude: []string{"a_rather_long_column_name.description"}}}
	allocs := testing.AllocsPerRun(100, func() {
		for _, filters := range hooks {
			Matches(filters, ev)
		}
		Matches(extra, ev)
	})
	if allocs != 0 {
		t.Errorf("Matches allocates %v times per run", allocs)
	}
}

// BenchmarkMatches runs one event against the six OpenMetadata use-case
// webhooks, as ingest does for every active webhook.
func BenchmarkMatches(b *testing.B) {
	hooks := useCases(b)
	all := make([][]models.EventFilter, 0, len(hooks))
	for _, filters := range hooks {
		all = append(all, filters)
	}
	ev := parse(b, "entityUpdated", "table",
		`{"name":"customers","domain":{"type":"domain","name":"Sales"},"tags":[{"tagFQN":"PII.Sensitive"}]}`,
		`{"fieldsUpdated":[{"name":"tags"},{"name":"columns.customer_id.description"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, filters := range all {
			if Matches(filters, ev) {
				n++
			}
		}
		if n != 4 { // Slack, CustomApp, OwnerFollower, SalesDomain
			b.Fatalf("%d webhooks matched, want 4", n)
		}
	}
}
