// Package filter decides which webhooks an event goes to (SPEC §2,
// eventFilter). It is pure: no I/O, no allocation per match where avoidable.
package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/webhookd/webhookd/models"
)

// Event is the part of a posted event that filters look at.
type Event struct {
	Type       string
	EntityType string
	Entity     map[string]any
	// Changed are the names of fields the changeDescription adds, updates
	// or deletes.
	Changed []string
}

type changeDescription struct {
	FieldsAdded   []fieldChange `json:"fieldsAdded"`
	FieldsUpdated []fieldChange `json:"fieldsUpdated"`
	FieldsDeleted []fieldChange `json:"fieldsDeleted"`
}

type fieldChange struct {
	Name string `json:"name"`
}

// ParseEvent decodes the raw parts of an event once, for many Matches calls.
func ParseEvent(eventType, entityType string, entity, change json.RawMessage) (Event, error) {
	ev := Event{Type: eventType, EntityType: entityType}
	if !isNull(entity) {
		if err := json.Unmarshal(entity, &ev.Entity); err != nil {
			return Event{}, errors.New("entity must be a JSON object")
		}
	}
	if !isNull(change) {
		var cd changeDescription
		if err := json.Unmarshal(change, &cd); err != nil {
			return Event{}, fmt.Errorf("changeDescription: %v", err)
		}
		for _, list := range [][]fieldChange{cd.FieldsAdded, cd.FieldsUpdated, cd.FieldsDeleted} {
			for _, f := range list {
				if f.Name != "" {
					ev.Changed = append(ev.Changed, f.Name)
				}
			}
		}
	}
	return ev, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// Matches reports whether any filter matches ev.
func Matches(filters []models.EventFilter, ev Event) bool {
	for i := range filters {
		if matchOne(&filters[i], ev) {
			return true
		}
	}
	return false
}

func matchOne(f *models.EventFilter, ev Event) bool {
	if !matchType(f.EventType, ev.Type) || !matchEntity(f.Entities, ev.EntityType) {
		return false
	}
	if len(f.Include) > 0 && !anyTerm(f.Include, ev) {
		return false
	}
	return !anyTerm(f.Exclude, ev)
}

func matchType(pattern, typ string) bool {
	if pattern == "*" || pattern == typ {
		return true
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return false
	}
	ok, err := path.Match(pattern, typ)
	return err == nil && ok
}

// matchEntity compares entity types case-insensitively: producers write
// `testCase` and `testcase` for the same OpenMetadata entity.
func matchEntity(entities []string, entityType string) bool {
	if len(entities) == 0 {
		return true
	}
	for _, e := range entities {
		if e == "*" || strings.EqualFold(e, entityType) {
			return true
		}
	}
	return false
}

func anyTerm(terms []string, ev Event) bool {
	for _, t := range terms {
		if matchTerm(t, ev) {
			return true
		}
	}
	return false
}

// matchTerm: `key:value` compares an entity attribute; a bare `field` matches
// a changed field, also as the first or last segment of a dotted path
// (OpenMetadata writes nested changes like columns.customer_id.description).
func matchTerm(term string, ev Event) bool {
	if key, value, ok := strings.Cut(term, ":"); ok {
		return matchValue(ev.Entity[key], value)
	}
	for _, name := range ev.Changed {
		if name == term || strings.HasPrefix(name, term+".") || strings.HasSuffix(name, "."+term) {
			return true
		}
	}
	return false
}

func matchValue(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64) == want
	case bool:
		return strconv.FormatBool(x) == want
	case map[string]any:
		for _, k := range []string{"name", "fullyQualifiedName", "tagFQN"} {
			if s, ok := x[k].(string); ok && s == want {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if matchValue(e, want) {
				return true
			}
		}
	}
	return false
}

// Validate checks filters as a webhook is saved; messages name the JSON path.
func Validate(filters []models.EventFilter) error {
	if len(filters) == 0 {
		return errors.New("eventFilters: at least one filter is required")
	}
	for i, f := range filters {
		at := fmt.Sprintf("eventFilters[%d]", i)
		if f.EventType == "" {
			return fmt.Errorf("%s.eventType: required", at)
		}
		if _, err := path.Match(f.EventType, ""); err != nil {
			return fmt.Errorf("%s.eventType: bad pattern %q: %v", at, f.EventType, err)
		}
		lists := []struct {
			name  string
			terms []string
		}{{"entities", f.Entities}, {"include", f.Include}, {"exclude", f.Exclude}}
		for _, l := range lists {
			name := l.name
			for j, s := range l.terms {
				if strings.TrimSpace(s) == "" {
					return fmt.Errorf("%s.%s[%d]: must not be empty", at, name, j)
				}
				if name != "entities" && strings.Contains(s, ":") {
					if k, v, _ := strings.Cut(s, ":"); k == "" || v == "" {
						return fmt.Errorf("%s.%s[%d]: %q needs both a key and a value (key:value)", at, name, j, s)
					}
				}
			}
		}
	}
	return nil
}
