package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// branching is a schema of depth definitions, each an anyOf of k branches
// referring to the next: k^depth subschemas for one value, in a kilobyte.
// Before the check, 8^6 took over two seconds of CPU for the number 5.
func branching(depth, k int) string {
	var defs []string
	for i := range depth {
		var refs []string
		for j := range k {
			if i == depth-1 {
				refs = append(refs, fmt.Sprintf(`{"type": "integer", "minimum": %d}`, 1000+j))
			} else {
				refs = append(refs, fmt.Sprintf(`{"$ref": "#/$defs/a%d"}`, i+1))
			}
		}
		defs = append(defs, fmt.Sprintf(`"a%d": {"anyOf": [%s]}`, i, strings.Join(refs, ", ")))
	}
	return `{"$defs": {` + strings.Join(defs, ", ") + `}, "$ref": "#/$defs/a0"}`
}

func TestSchemaComplexityIsBounded(t *testing.T) {
	refused := map[string]string{
		"branches of branches": branching(6, 8),
		"branches recursing into one property": `{"$defs": {"n": {"anyOf": [{"properties": {"c": {"$ref": "#/$defs/n"}}},
			{"properties": {"c": {"$ref": "#/$defs/n"}}}]}}, "$ref": "#/$defs/n"}`,
		"branches recursing into items": `{"$defs": {"n": {"oneOf": [{"items": {"$ref": "#/$defs/n"}}, {"items": {"$ref": "#/$defs/n"}},
			{"type": "array", "items": {"$ref": "#/$defs/n"}}]}}, "$ref": "#/$defs/n"}`,
		"a reference to itself in place": `{"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}`,
		"$dynamicRef":                    `{"$dynamicAnchor": "m", "type": "object", "properties": {"x": {"$dynamicRef": "#m"}}}`,
	}
	for name, schema := range refused {
		if _, err := CompileSchema(json.RawMessage(schema)); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
	if _, err := CompileSchema(json.RawMessage(branching(6, 8))); err == nil || !strings.Contains(err.Error(), "subschemas to one value") {
		t.Errorf("the refusal says why: %v", err)
	}
	allowed := map[string]string{
		"the README's order":  orderSchema,
		"a little branching":  branching(3, 4),
		"a tree of comments":  `{"$defs": {"c": {"type": "object", "properties": {"text": {"type": "string"}, "replies": {"type": "array", "items": {"$ref": "#/$defs/c"}}}}}, "$ref": "#/$defs/c"}`,
		"a binary tree":       `{"$defs": {"n": {"type": "object", "properties": {"left": {"$ref": "#/$defs/n"}, "right": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"}`,
		"a union of variants": union(20),
	}
	for name, schema := range allowed {
		if _, err := CompileSchema(json.RawMessage(schema)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// union is a oneOf of n event variants, each with a few properties and a
// shared definition.
func union(n int) string {
	var variants []string
	for i := range n {
		variants = append(variants, fmt.Sprintf(`{"type": "object", "required": ["kind"], "properties": {"kind": {"const": "k%d"},
			"address": {"$ref": "#/$defs/addr"}, "amount": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}}}`, i))
	}
	return `{"$defs": {"addr": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}}},
		"oneOf": [` + strings.Join(variants, ", ") + `]}`
}

// TestValidationWorkIsBounded: MaxApplications bounds what a schema applies
// to one value, not to the event: an anyOf of 250 patterns over 150,000
// items took 53 s and 13 GB per event. Data whose values times the
// schema's applications per value pass MaxValidationWork is refused before
// it is checked; the same schema checks smaller data, and a plain schema
// checks large data.
func TestValidationWorkIsBounded(t *testing.T) {
	branches := make([]string, 250)
	for i := range branches {
		branches[i] = fmt.Sprintf(`{"pattern": "^x%d(a|b)*c$"}`, i)
	}
	wide, err := CompileSchema(json.RawMessage(`{"type": "array", "items": {"anyOf": [` + strings.Join(branches, ",") + `]}}`))
	if err != nil {
		t.Fatal(err)
	}
	items := func(n int, v string) json.RawMessage {
		return json.RawMessage("[" + strings.TrimSuffix(strings.Repeat(v+",", n), ",") + "]")
	}
	var de *DataError
	if err := wide.Validate(items(2500, `"ab"`)); !errors.As(err, &de) || de.Path != "/data" || !strings.Contains(de.Msg, "too large to check") {
		t.Errorf("2,500 items against 250 branches each: %v, want refused as too large to check", err)
	}
	if err := wide.Validate(items(100, `"x7abc"`)); err != nil {
		t.Errorf("100 items: %v", err)
	}
	plain, err := CompileSchema(json.RawMessage(`{"type": "array", "items": {"type": "number"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Validate(items(100_000, "1")); err != nil {
		t.Errorf("100,000 numbers against a plain schema: %v", err)
	}
}

// TestPatternsAreBounded: "format": "regex" compiles a string of the
// data at every event (one 1 MiB `a*a*...` took 4 s and 400 MB); patterns
// in data and schema are bounded by MaxPatternBytes.
func TestPatternsAreBounded(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(`{"type": "object", "properties": {"p": {"type": "string", "format": "regex"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var de *DataError
	long := strings.Repeat("a*", MaxPatternBytes/2+1)
	if err := s.Validate(json.RawMessage(`{"p": "` + long + `"}`)); !errors.As(err, &de) || de.Path != "/data/p" {
		t.Errorf("a %d-byte pattern in the data: %v, want refused at /data/p", len(long), err)
	}
	if err := s.Validate(json.RawMessage(`{"p": "^[a-z]+(-[a-z]+)*$"}`)); err != nil {
		t.Errorf("a short pattern in the data: %v", err)
	}
	if _, err := CompileSchema(json.RawMessage(`{"type": "string", "pattern": "` + long + `"}`)); err == nil {
		t.Errorf("a %d-byte pattern in the schema compiled", len(long))
	}
	if _, err := CompileSchema(json.RawMessage(`{"type": "string", "pattern": "^(` + strings.Repeat("word|", 500) + `end)$"}`)); err != nil {
		t.Errorf("a 2.5 KiB alternation in the schema: %v", err)
	}
}
