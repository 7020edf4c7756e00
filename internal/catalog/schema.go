// Package catalog is the event catalog's logic: it compiles an event type's
// JSON Schema (draft 2020-12) and checks events' data against it, checks a
// type before it is saved, defines webhookd's own built-in types, and exports
// a tenant's catalog as an OpenAPI 3.1 document. It is pure: no I/O, and a
// schema never reaches the network or the file system.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Dialect is the only JSON Schema draft the catalog speaks: the one OpenAPI
// 3.1 embeds, so an exported schema means what it meant when it was saved.
const Dialect = "https://json-schema.org/draft/2020-12/schema"

// schemaURL names the document being compiled. A $ref that is not inside
// the document resolves against it to a URL that the loader refuses; the
// .invalid domain can never be reached anyway.
const schemaURL = "https://schemas.webhookd.invalid/event-type.json"

var printer = message.NewPrinter(language.English)

// Schema is a compiled schema, safe for concurrent use.
type Schema struct {
	s *jsonschema.Schema
	// perValue is the most subschemas it may apply to one value of the
	// data (checkComplexity).
	perValue int
}

// CompileSchema compiles a schema document. A document that is not JSON, not
// a valid 2020-12 schema, names another draft in $schema, or refers to
// anything outside itself is refused with the validator's message.
func CompileSchema(raw json.RawMessage) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, errors.New("not valid JSON")
	}
	if obj, ok := doc.(map[string]any); ok {
		if d, ok := obj["$schema"]; ok && d != Dialect && d != Dialect+"#" {
			return nil, fmt.Errorf("$schema must be %q (JSON Schema 2020-12) or left out", Dialect)
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Formats are assertions, not annotations: a producer who writes
	// "format": "date-time" expects a date-time to be checked.
	c.AssertFormat()
	c.UseLoader(noRemote{})
	c.UseRegexpEngine(boundedRegexp)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, schemaError(err)
	}
	perValue, err := checkComplexity(s)
	if err != nil {
		return nil, err
	}
	return &Schema{s: s, perValue: perValue}, nil
}

// noRemote refuses every $ref outside the document: a schema must never
// make webhookd fetch a URL or read a file. The draft 2020-12 meta-schemas
// are built into the library and load without it.
type noRemote struct{}

func (noRemote) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s is outside the schema: only references within it (#/$defs/...) are allowed", url)
}

// schemaError turns a compile error into one line: the meta-schema's first
// complaint with its place in the schema, or the compiler's message.
func schemaError(err error) error {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			leaf := firstLeaf(ve, true)
			return fmt.Errorf("%s: %s", pointerOrRoot(leaf.InstanceLocation), leaf.ErrorKind.LocalizedString(printer))
		}
	}
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		return fmt.Errorf("$ref %s", le.Err)
	}
	msg := err.Error()
	// The compiler names the document by its internal URL; the user knows
	// it as "the schema".
	msg = strings.ReplaceAll(msg, strconv.Quote(schemaURL), "the schema")
	return errors.New(strings.ReplaceAll(msg, schemaURL, ""))
}

// DataError says where an event's data does not match its type's schema:
// Path is a JSON pointer from the event (/data/amount), Msg what is wrong
// (expected number). In a batch the caller puts the event's index in front.
type DataError struct {
	Path string
	Msg  string
}

func (e *DataError) Error() string { return e.Path + ": " + e.Msg }

// Validate checks an event's data against the schema; absent data is JSON
// null. A mismatch is a *DataError naming the first failing place.
func (s *Schema) Validate(data json.RawMessage) error {
	var v any
	if t := bytes.TrimSpace(data); len(t) > 0 {
		var err error
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(t)); err != nil {
			return &DataError{Path: "/data", Msg: "not valid JSON"}
		}
	}
	if n, ok := withinWork(v, s.perValue); !ok {
		return &DataError{Path: "/data", Msg: fmt.Sprintf("too large to check against this type's schema: more than %d values, "+
			"each checked against up to %d subschemas (at most %d checks)", n, s.perValue, MaxValidationWork)}
	}
	err := s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &DataError{Path: "/data", Msg: err.Error()}
	}
	return describe(firstLeaf(ve, false))
}

// firstLeaf picks the error to report. Errors that only group others (the
// root, a $ref, allOf) give way to their first cause in instance order. In
// data, an anyOf or oneOf is reported as itself, since no single branch is
// "the" failure; in a schema the meta-schema's branches are more telling
// ("type" is one of the simple types or a list of them).
func firstLeaf(ve *jsonschema.ValidationError, intoBranches bool) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		switch ve.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			if !intoBranches {
				return ve
			}
		}
		causes := slices.Clone(ve.Causes)
		slices.SortStableFunc(causes, func(a, b *jsonschema.ValidationError) int {
			return slices.Compare(a.InstanceLocation, b.InstanceLocation)
		})
		ve = causes[0]
	}
	return ve
}

// describe words one error the way the API words bad input: the failing
// place, then what was expected. A missing or unexpected property is named
// by its own path.
func describe(ve *jsonschema.ValidationError) *DataError {
	at := append([]string{"data"}, ve.InstanceLocation...)
	switch k := ve.ErrorKind.(type) {
	case *kind.Type:
		return &DataError{Path: pointer(at), Msg: "expected " + strings.Join(k.Want, " or ")}
	case *kind.Required:
		return &DataError{Path: pointer(append(at, k.Missing[0])), Msg: "required"}
	case *kind.AdditionalProperties:
		return &DataError{Path: pointer(append(at, k.Properties[0])), Msg: "not allowed (additionalProperties)"}
	case *kind.FalseSchema:
		return &DataError{Path: pointer(at), Msg: "not allowed"}
	case *kind.AnyOf:
		return &DataError{Path: pointer(at), Msg: "matches none of the schemas of anyOf"}
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			return &DataError{Path: pointer(at), Msg: "matches none of the schemas of oneOf"}
		}
		return &DataError{Path: pointer(at), Msg: fmt.Sprintf("matches more than one schema of oneOf (%d and %d)", k.Subschemas[0], k.Subschemas[1])}
	}
	return &DataError{Path: pointer(at), Msg: ve.ErrorKind.LocalizedString(printer)}
}

// pointer builds a JSON pointer (RFC 6901) from its tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

func pointerOrRoot(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	return pointer(tokens)
}
