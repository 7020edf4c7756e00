package filter

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseEvent(t *testing.T) {
	cases := []struct {
		entity, change string
		wantErr        string
		wantChanged    []string
		wantEntity     bool
	}{
		{entity: ``, change: ``},
		{entity: `null`, change: ` null `},
		{entity: ` {} `, change: `{}`, wantEntity: true},
		{entity: `{"rows": 15}`, wantEntity: true},
		{entity: `[1]`, wantErr: "entity: must be a JSON object"},
		{entity: `"table"`, wantErr: "entity: must be a JSON object"},
		{entity: `5`, wantErr: "entity: must be a JSON object"},
		{entity: `{"a":`, wantErr: "entity: must be a JSON object"},
		{entity: `{} {}`, wantErr: "entity: must be a JSON object"},
		{change: `"no"`, wantErr: "changeDescription: must be a JSON object"},
		{change: `[]`, wantErr: "changeDescription: must be a JSON object"},
		{change: `{"fieldsAdded": "x"}`, wantErr: `changeDescription.fieldsAdded: must be a list of {"name": ...} objects`},
		{change: `{"fieldsUpdated": [{"name": 5}]}`, wantErr: `changeDescription.fieldsUpdated: must be a list of {"name": ...} objects`},
		{
			change: `{"fieldsDeleted": [{"name": "c"}], "fieldsUpdated": [{"name": "b"}, {"oldValue": 1}],
				"fieldsAdded": [{"name": "a"}], "previousVersion": 0.1}`,
			wantChanged: []string{"a", "b", "c"},
		},
		{change: `{"fieldsAdded": null, "fieldsUpdated": [], "fieldsDeleted": [{"name": "x"}]}`, wantChanged: []string{"x"}},
	}
	for _, c := range cases {
		ev, err := ParseEvent("entityUpdated", "table", json.RawMessage(c.entity), json.RawMessage(c.change))
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("ParseEvent(%s, %s) error = %v, want %q", c.entity, c.change, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEvent(%s, %s): %v", c.entity, c.change, err)
			continue
		}
		if ev.Type != "entityUpdated" || ev.EntityType != "table" {
			t.Errorf("ParseEvent kept %q %q", ev.Type, ev.EntityType)
		}
		if (ev.Entity != nil) != c.wantEntity {
			t.Errorf("ParseEvent(%s).Entity = %v", c.entity, ev.Entity)
		}
		if !reflect.DeepEqual(ev.Changed, c.wantChanged) {
			t.Errorf("ParseEvent(%s).Changed = %q, want %q", c.change, ev.Changed, c.wantChanged)
		}
	}
	ev := parse(t, "x", "", `{"rows": 1.50}`, ``)
	if ev.Entity["rows"] != json.Number("1.50") {
		t.Errorf("numbers should keep their JSON text, got %#v", ev.Entity["rows"])
	}
}
