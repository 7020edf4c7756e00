// Package filter decides which webhooks an event goes to (the eventFilters
// of a webhook, described in the README). It is pure: no I/O. Matches runs for every (event, webhook)
// pair on ingest, so it does not allocate. Content filters (CEL expressions
// over the envelope, cel.go) are compiled when a webhook is saved and run
// through MatchesWith only for the filters that have one.
package filter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/webhookd/webhookd/models"
)

// Matches reports whether any of the filters matches ev.
func Matches(filters []models.EventFilter, ev Event) bool {
	for i := range filters {
		if matchOne(&filters[i], &ev) {
			return true
		}
	}
	return false
}

// MatchesWith is Matches for filters with content filters: programs[i] is
// the compiled content filter of filters[i], nil when it has none (programs
// itself may be nil). A filter matches when its eventType, entities and
// terms match and then its program is true for ev.Content; with no Content
// a program never is. Only filters with a program allocate, and only while
// their program runs.
func MatchesWith(filters []models.EventFilter, programs []*Program, ev Event) bool {
	return MatchCounting(filters, programs, ev, nil)
}

// Counts tally what one filter did with the events it was shown: Seen
// counts those whose type and entity it takes, Matched those it let
// through (its terms and content filter held too). Safe for concurrent use.
type Counts struct {
	Seen, Matched atomic.Int64
}

// MatchCounting is MatchesWith that also tallies into counts[i] what
// filters[i] did (counts, and any of its entries, may be nil). Filters are tried in order and the
// first that matches ends the walk, so an event counts for the filters up
// to that one only.
func MatchCounting(filters []models.EventFilter, programs []*Program, ev Event, counts []*Counts) bool {
	for i := range filters {
		f := &filters[i]
		if !matchType(f.EventType, ev.Type) || !matchEntity(f.Entities, ev.EntityType) {
			continue
		}
		if i < len(counts) && counts[i] != nil {
			counts[i].Seen.Add(1)
		}
		if !matchTerms(f, &ev) {
			continue
		}
		if i < len(programs) && programs[i] != nil && (ev.Content == nil || !programs[i].Matches(ev.Content)) {
			continue
		}
		if i < len(counts) && counts[i] != nil {
			counts[i].Matched.Add(1)
		}
		return true
	}
	return false
}

// Key names a filter by what it says: two filters with the same key select
// the same events, and editing a filter gives it a new key. Statistics are
// kept by it, so that they follow the filter, not its place in the list.
func Key(f models.EventFilter) string {
	b, _ := json.Marshal(f) // a struct of strings: never fails
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// SubscribesTo reports whether any filter's eventType takes events of type
// typ, whatever their entity and fields: what a test sample may claim to be.
func SubscribesTo(filters []models.EventFilter, typ string) bool {
	for i := range filters {
		if matchType(filters[i].EventType, typ) {
			return true
		}
	}
	return false
}

// matchOne applies one filter. Exclude is checked last and wins over
// include: a webhook that includes `tags` but excludes `domain:Sales` must
// not see a Sales tag change.
func matchOne(f *models.EventFilter, ev *Event) bool {
	return matchType(f.EventType, ev.Type) && matchEntity(f.Entities, ev.EntityType) && matchTerms(f, ev)
}

// matchTerms applies a filter's include and exclude terms.
func matchTerms(f *models.EventFilter, ev *Event) bool {
	if len(f.Include) > 0 && !anyTerm(f.Include, ev) {
		return false
	}
	return !anyTerm(f.Exclude, ev)
}

// matchEntity compares entity types ignoring case. OpenMetadata's names
// are camelCase (`testCase`), but producers also send `testcase`, and no two
// entity types differ only by case, so folding loses nothing.
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

func anyTerm(terms []string, ev *Event) bool {
	for _, t := range terms {
		if matchTerm(t, ev) {
			return true
		}
	}
	return false
}

// matchTerm: `key:value` (split on the first colon, so values may hold
// colons) looks at the entity; a bare `field` looks at the changed fields.
func matchTerm(term string, ev *Event) bool {
	if key, value, ok := strings.Cut(term, ":"); ok {
		return matchValue(ev.Entity[key], value, true)
	}
	for _, name := range ev.Changed {
		if matchField(term, name) {
			return true
		}
	}
	return false
}

// matchField: OpenMetadata names nested changes by dotted path, e.g.
// `columns.customer_id.description`. A term matches the whole path or a
// leading or trailing run of whole segments, so `columns` and `description`
// match it but `customer_id` and `descr` do not.
func matchField(term, name string) bool {
	if len(name) <= len(term) {
		return name == term
	}
	return (name[len(term)] == '.' && strings.HasPrefix(name, term)) ||
		(name[len(name)-len(term)-1] == '.' && strings.HasSuffix(name, term))
}

// matchValue compares one decoded JSON value with a term's value. Scalars
// compare by their JSON text (strings unquoted); an object by its `name`,
// `fullyQualifiedName` or `tagFQN` (OpenMetadata's entity and tag
// references); an array when any element does. Nested arrays are not
// searched, since no OpenMetadata field is a list of lists. JSON null never
// matches: a missing key and a null one look alike.
func matchValue(v any, want string, top bool) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case json.Number:
		return string(x) == want
	case float64:
		var buf [32]byte
		return string(strconv.AppendFloat(buf[:0], x, 'f', -1, 64)) == want
	case bool:
		return strconv.FormatBool(x) == want
	case map[string]any:
		for _, k := range [...]string{"name", "fullyQualifiedName", "tagFQN"} {
			if s, ok := x[k].(string); ok && s == want {
				return true
			}
		}
	case []any:
		if !top {
			return false
		}
		for _, e := range x {
			if matchValue(e, want, false) {
				return true
			}
		}
	}
	return false
}
