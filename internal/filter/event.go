package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Event is the part of a posted event that filters look at. ParseEvent
// builds it once per event; Matches then reads it for every webhook.
type Event struct {
	Type       string
	EntityType string
	// Entity is the decoded entity object, or nil. ParseEvent decodes
	// numbers as json.Number so `key:value` compares them by their JSON
	// text; float64 values (an Event built by hand) work too.
	Entity map[string]any
	// Changed names the fields the changeDescription adds, updates or
	// deletes, in that order.
	Changed []string
	// Content is what content filters read (MatchesWith); nil when no
	// webhook of the tenant has one.
	Content *Content
}

// changeLists are OpenMetadata's changeDescription lists, in the order
// Changed reports them.
var changeLists = [...]string{"fieldsAdded", "fieldsUpdated", "fieldsDeleted"}

// ParseEvent decodes the raw parts of a posted event. entity and
// changeDescription may be nil, empty or `null`; a malformed one is a
// *FieldError.
func ParseEvent(eventType, entityType string, entity, changeDescription json.RawMessage) (Event, error) {
	ev := Event{Type: eventType, EntityType: entityType}
	if !isNull(entity) {
		m, err := decodeObject(entity)
		if err != nil {
			return Event{}, fieldError("entity", "must be a JSON object")
		}
		ev.Entity = m
	}
	if !isNull(changeDescription) {
		changed, err := changedFields(changeDescription)
		if err != nil {
			return Event{}, err
		}
		ev.Changed = changed
	}
	return ev, nil
}

// changedFields lists the `name` of every entry of OpenMetadata's
// {fieldsAdded, fieldsUpdated, fieldsDeleted}. Other keys (previousVersion,
// oldValue, newValue...) are ignored: filters only look at names.
func changedFields(raw json.RawMessage) ([]string, error) {
	var cd map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cd); err != nil || cd == nil {
		return nil, fieldError("changeDescription", "must be a JSON object")
	}
	var names []string
	for _, key := range changeLists {
		list, ok := cd[key]
		if !ok || isNull(list) {
			continue
		}
		var entries []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(list, &entries); err != nil {
			return nil, fieldError("changeDescription."+key, `must be a list of {"name": ...} objects`)
		}
		for _, e := range entries {
			if e.Name != "" {
				names = append(names, e.Name)
			}
		}
	}
	return names, nil
}

// decodeObject decodes one JSON object, keeping numbers as json.Number.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not an object")
	}
	// Decoder stops after the first value; json.Unmarshal would reject
	// trailing data, so do the same.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the object")
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
