package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxApplications bounds how many subschemas a schema may apply to one
// place of the data. A validator applies every branch of an anyOf, and
// $refs reuse definitions, so a schema of a kilobyte could apply a million
// subschemas to one value (8 definitions of 8 anyOf branches referring to
// the next: 8^6 applications, seconds of CPU per event). Schemas written
// for events apply a handful; the bound leaves them far from it.
const MaxApplications = 256

// maxSchemaDepth bounds the levels of data the check follows a schema
// into. A recursive schema (a tree of comments) repeats itself after a few
// levels and the check stops there; this only ends a pathological walk.
const maxSchemaDepth = 1000

// checkComplexity refuses a compiled schema that may apply more than
// MaxApplications subschemas to one place of the data, counting every
// branch (allOf, anyOf, oneOf, not, if/then/else, dependentSchemas, $ref).
// It follows the schema into the data level by level, keeping for each
// name of a place (a property's name, or "*" for items and other
// properties) the most any one path to such a place may apply: branches
// that each descend into the same property multiply, while a recursive
// schema that applies itself once per level (a tree of comments, a left
// and a right child) comes back to a level it has seen, and the check ends.
// It returns the most it may apply to one place (see MaxValidationWork).
func checkComplexity(root *jsonschema.Schema) (int, error) {
	level := map[string]map[*jsonschema.Schema]int{"*": {root: 1}}
	seen := map[string]bool{}
	most := 1
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxSchemaDepth {
			return 0, errors.New("the schema nests deeper than the data can")
		}
		closures := map[string]map[*jsonschema.Schema]int{}
		for _, key := range sortedKeys(level) {
			closure := map[*jsonschema.Schema]int{}
			applied := 0
			for _, s := range sortedSchemas(level[key]) {
				if err := applyInPlace(s, level[key][s], closure, map[*jsonschema.Schema]bool{}, &applied); err != nil {
					return 0, err
				}
			}
			closures[key] = closure
		}
		// A place of a name gets what applies to that name and what
		// applies to every place; an item or another property only the
		// latter.
		next := map[string]map[*jsonschema.Schema]int{}
		for _, key := range sortedKeys(closures) {
			at := closures[key]
			if key != "*" {
				at = sum(at, closures["*"])
			}
			n := total(at)
			if n > MaxApplications {
				return 0, tooMany(n)
			}
			most = max(most, n)
			contrib := map[string]map[*jsonschema.Schema]int{}
			for s, n := range at {
				for _, c := range children(s) {
					if contrib[c.key] == nil {
						contrib[c.key] = map[*jsonschema.Schema]int{}
					}
					contrib[c.key][c.s] += n
				}
			}
			for k, m := range contrib {
				if next[k] == nil {
					next[k] = map[*jsonschema.Schema]int{}
				}
				for s, n := range m {
					next[k][s] = max(next[k][s], n)
				}
			}
		}
		// A recursive schema comes back to a level it has been at: the
		// rest repeats.
		fp := fingerprint(next)
		if seen[fp] {
			return most, nil
		}
		seen[fp] = true
		level = next
	}
	return most, nil
}

func tooMany(n int) error {
	return fmt.Errorf("may apply %d or more subschemas to one value (at most %d): every branch of anyOf, oneOf and allOf, and every $ref, "+
		"counts, and branches that refer to definitions with branches multiply", n, MaxApplications)
}

func sum(a, b map[*jsonschema.Schema]int) map[*jsonschema.Schema]int {
	out := make(map[*jsonschema.Schema]int, len(a)+len(b))
	for s, n := range a {
		out[s] += n
	}
	for s, n := range b {
		out[s] += n
	}
	return out
}

func total(m map[*jsonschema.Schema]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

func sortedSchemas(m map[*jsonschema.Schema]int) []*jsonschema.Schema {
	out := make([]*jsonschema.Schema, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *jsonschema.Schema) int { return strings.Compare(a.Location, b.Location) })
	return out
}

// applyInPlace adds s, applied n times at one place, and everything it
// applies there, to closure, counting into applied[key]. A schema that
// comes back to itself in place would never end.
func applyInPlace(s *jsonschema.Schema, n int, closure map[*jsonschema.Schema]int, onPath map[*jsonschema.Schema]bool, applied *int) error {
	if onPath[s] {
		return fmt.Errorf("%s refers to itself without descending into the data", schemaPlace(s))
	}
	*applied += n
	if *applied > MaxApplications {
		return tooMany(*applied)
	}
	if s.DynamicRef != nil || s.RecursiveRef != nil {
		return fmt.Errorf("%s: $dynamicRef is not supported in event types", schemaPlace(s))
	}
	closure[s] += n
	onPath[s] = true
	defer delete(onPath, s)
	for _, sub := range inPlace(s) {
		if err := applyInPlace(sub, n, closure, onPath, applied); err != nil {
			return err
		}
	}
	return nil
}

// inPlace lists the subschemas s applies to the value it is applied to.
func inPlace(s *jsonschema.Schema) []*jsonschema.Schema {
	out := slices.Concat(s.AllOf, s.AnyOf, s.OneOf)
	for _, sub := range []*jsonschema.Schema{s.Ref, s.Not, s.If, s.Then, s.Else} {
		if sub != nil {
			out = append(out, sub)
		}
	}
	for _, k := range sortedKeys(s.DependentSchemas) {
		out = append(out, s.DependentSchemas[k])
	}
	return out
}

// child is a subschema applied inside the value: at the property of a
// name (".name"), or at every item or property ("*").
type child struct {
	key string
	s   *jsonschema.Schema
}

// children lists the subschemas s applies to the values inside the one it
// is applied to: properties by name; items, additional, pattern and
// unevaluated properties, names and contents as "*".
func children(s *jsonschema.Schema) []child {
	var out []child
	for _, name := range sortedKeys(s.Properties) {
		out = append(out, child{"." + name, s.Properties[name]})
	}
	for _, sub := range s.PatternProperties {
		out = append(out, child{"*", sub})
	}
	if sub, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		out = append(out, child{"*", sub})
	}
	for _, sub := range s.PrefixItems {
		out = append(out, child{"*", sub})
	}
	for _, sub := range []*jsonschema.Schema{s.PropertyNames, s.UnevaluatedProperties, s.Items2020, s.Contains, s.UnevaluatedItems, s.ContentSchema} {
		if sub != nil {
			out = append(out, child{"*", sub})
		}
	}
	return out
}

func schemaPlace(s *jsonschema.Schema) string {
	loc := s.Location
	if i := strings.IndexByte(loc, '#'); i >= 0 {
		loc = loc[i+1:]
	}
	if loc == "" {
		return "the schema"
	}
	return loc
}

func fingerprint(level map[string]map[*jsonschema.Schema]int) string {
	var b strings.Builder
	for _, key := range sortedKeys(level) {
		locs := make([]string, 0, len(level[key]))
		for s, n := range level[key] {
			locs = append(locs, fmt.Sprintf("%s=%d", s.Location, n))
		}
		slices.Sort(locs)
		fmt.Fprintf(&b, "%s:%s;", key, strings.Join(locs, ","))
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
