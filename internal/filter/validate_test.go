package filter

import (
	"errors"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func TestValidate(t *testing.T) {
	f := func(typ string) models.EventFilter { return models.EventFilter{EventType: typ} }
	cases := []struct {
		filters []models.EventFilter
		want    string
	}{
		{nil, "eventFilters: at least one filter is required"},
		{[]models.EventFilter{}, "eventFilters: at least one filter is required"},
		{[]models.EventFilter{f("")}, "eventFilters[0].eventType: required"},
		{[]models.EventFilter{f("*"), f("")}, "eventFilters[1].eventType: required"},
		{[]models.EventFilter{f("  ")}, "eventFilters[0].eventType: required"},
		{[]models.EventFilter{f("*"), f("a[b")}, `eventFilters[1].eventType: bad pattern "a[b": syntax error in pattern`},
		{[]models.EventFilter{f(`entity\`)}, `eventFilters[0].eventType: bad pattern "entity\\": syntax error in pattern`},
		{[]models.EventFilter{{EventType: "*", Entities: []string{""}}}, "eventFilters[0].entities[0]: must not be empty"},
		{[]models.EventFilter{{EventType: "*", Entities: []string{"table", " "}}}, "eventFilters[0].entities[1]: must not be empty"},
		{[]models.EventFilter{{EventType: "*", Include: []string{"tags", ""}}}, "eventFilters[0].include[1]: must not be empty"},
		{[]models.EventFilter{f("*"), {EventType: "*", Exclude: []string{""}}}, "eventFilters[1].exclude[0]: must not be empty"},
		{[]models.EventFilter{{EventType: "*", Include: []string{"domain:"}}}, `eventFilters[0].include[0]: "domain:" needs both a key and a value (key:value)`},
		{[]models.EventFilter{{EventType: "*", Include: []string{"domain: "}}}, `eventFilters[0].include[0]: "domain: " needs both a key and a value (key:value)`},
		{[]models.EventFilter{{EventType: "*", Exclude: []string{"tags", ":Sales"}}}, `eventFilters[0].exclude[1]: ":Sales" needs both a key and a value (key:value)`},
		// Content filters: the compiler's message with its place, and the
		// cost refusal, at the filter's path.
		{[]models.EventFilter{f("*"), {EventType: "order.*", Filter: `data.amount >`}},
			`eventFilters[1].filter: line 1, column 14: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`},
		{[]models.EventFilter{{EventType: "order.*", Filter: `amount > 100`}}, `eventFilters[0].filter: line 1, column 1: undeclared reference to 'amount'`},
		{[]models.EventFilter{{EventType: "*", Filter: `data.a.exists(x, data.b.exists(y, x == y))`}},
			"eventFilters[0].filter: may cost up to 115299187342442499, above the limit of 30000000: the worst case takes every list and string of the event to be 1 MiB long: scan lists a few times at most, never a scan inside a scan"},
	}
	for _, c := range cases {
		err := Validate(c.filters)
		var fe *FieldError
		if !errors.As(err, &fe) || err.Error() != c.want {
			t.Errorf("Validate(%+v) = %v\n want the field error %s", c.filters, err, c.want)
		}
	}
	ok := []models.EventFilter{
		{EventType: "ingestion.*", Entities: []string{"*"}, Include: []string{"domain:Sales", "tags"}},
		{EventType: `entity[CU]*`, Exclude: []string{"uri:s3://bucket/x"}},
		{EventType: "order.*", Filter: `data.amount > 100 && data.currency == "EUR"`},
		{EventType: "order.*", Filter: `has(data.priority)`},
	}
	if err := Validate(ok); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}
