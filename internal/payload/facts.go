package payload

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// facts is what the chat formats show; they differ only in layout.
type facts struct {
	Event      string
	EntityType string
	Entity     string // display name, empty when the entity has none
	Changes    []change
	Test       bool
	Webhook    string
	Time       string
	// Data is a compact, shortened JSON of Message.Data, shown only when
	// there is no entity to describe so the message still says something.
	Data string
}

type change struct {
	Kind   string // "added", "updated" or "deleted"
	Fields []string
}

const (
	// maxDataChars keeps a data excerpt readable in a chat message.
	maxDataChars = 500
	// maxChangedFields stops a bulk change from flooding the message.
	maxChangedFields = 20
)

func factsOf(m Message) facts {
	f := facts{
		Event:      m.EventType,
		EntityType: m.EntityType,
		Entity:     entityName(m.Entity),
		Changes:    changes(m.ChangeDescription),
		Test:       m.IsTest,
		Webhook:    m.WebhookName,
		Time:       formatTime(m),
	}
	if f.Entity == "" && f.EntityType == "" {
		if data := present(m.Data); data != nil {
			if compact, err := marshal(data); err == nil {
				f.Data = truncate(string(compact), maxDataChars)
			}
		}
	}
	return f
}

// entityName is "name (fullyQualifiedName)", or whichever of them the
// entity has. Entities that are not objects, or lack both, have no name.
func entityName(raw json.RawMessage) string {
	var e struct {
		Name               string `json:"name"`
		DisplayName        string `json:"displayName"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
	}
	// Best effort: a field of an unexpected type only costs the name.
	_ = json.Unmarshal(raw, &e)
	name := e.Name
	if name == "" {
		name = e.DisplayName
	}
	switch {
	case name == "":
		return e.FullyQualifiedName
	case e.FullyQualifiedName == "" || e.FullyQualifiedName == name:
		return name
	default:
		return name + " (" + e.FullyQualifiedName + ")"
	}
}

// changes lists the changed field names of an OpenMetadata
// changeDescription, leaving out the values, which can be whole documents.
func changes(raw json.RawMessage) []change {
	type field struct {
		Name string `json:"name"`
	}
	var cd struct {
		Added   []field `json:"fieldsAdded"`
		Updated []field `json:"fieldsUpdated"`
		Deleted []field `json:"fieldsDeleted"`
	}
	_ = json.Unmarshal(raw, &cd) // best effort, as for entityName
	var out []change
	for _, group := range []struct {
		kind   string
		fields []field
	}{{"added", cd.Added}, {"updated", cd.Updated}, {"deleted", cd.Deleted}} {
		var names []string
		for _, f := range group.fields {
			if f.Name != "" {
				names = append(names, f.Name)
			}
		}
		if len(names) > 0 {
			out = append(out, change{Kind: group.kind, Fields: names})
		}
	}
	return out
}

// fieldList joins field names, cut off after maxChangedFields.
func (c change) fieldList() string {
	if len(c.Fields) <= maxChangedFields {
		return strings.Join(c.Fields, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(c.Fields[:maxChangedFields], ", "), len(c.Fields)-maxChangedFields)
}

// subject is "tableName orders", the entity part of a summary line.
func (f facts) subject() string {
	return strings.TrimSpace(f.EntityType + " " + f.Entity)
}

// summary is the one-line plain-text description used as notification
// fallback text.
func (f facts) summary() string {
	s := f.Event
	if subject := f.subject(); subject != "" {
		s += ": " + subject
	}
	if f.Test {
		s = "[Test] " + s
	}
	return s
}

// truncate shortens s to at most max runes, marking the cut with "…",
// because every chat API rejects over-long text rather than cutting it.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
