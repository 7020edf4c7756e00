package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/webhookd/webhookd/models"
)

// The exported document describes what a receiver of a Generic webhook gets
// (payloadFormat webhookd, the default): the envelope with the type's data,
// signed as docs/receiving.md, "The outbound request" says. Code generators read
// it as any OpenAPI 3.1 document with a `webhooks` section.

// document is the OpenAPI 3.1 root; key order is the specification's.
type document struct {
	OpenAPI           string              `json:"openapi"`
	Info              info                `json:"info"`
	JSONSchemaDialect string              `json:"jsonSchemaDialect"`
	Webhooks          map[string]pathItem `json:"webhooks"`
	Components        components          `json:"components"`
}

type info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type pathItem struct {
	Post operation `json:"post"`
}

type operation struct {
	OperationID string              `json:"operationId"`
	Summary     string              `json:"summary,omitempty"`
	Description string              `json:"description,omitempty"`
	Deprecated  bool                `json:"deprecated,omitempty"`
	Parameters  []ref               `json:"parameters"`
	RequestBody requestBody         `json:"requestBody"`
	Responses   map[string]response `json:"responses"`
}

type ref struct {
	Ref string `json:"$ref"`
}

type requestBody struct {
	Required bool                 `json:"required"`
	Content  map[string]mediaType `json:"content"`
}

type mediaType struct {
	Schema   json.RawMessage    `json:"schema"`
	Examples map[string]example `json:"examples,omitempty"`
}

type example struct {
	Summary string          `json:"summary,omitempty"`
	Value   json.RawMessage `json:"value"`
}

type response struct {
	Description string `json:"description"`
}

type components struct {
	Schemas    map[string]json.RawMessage `json:"schemas"`
	Parameters map[string]parameter       `json:"parameters"`
}

type parameter struct {
	Name        string          `json:"name"`
	In          string          `json:"in"`
	Description string          `json:"description"`
	Required    bool            `json:"required"`
	Schema      json.RawMessage `json:"schema"`
	Example     string          `json:"example,omitempty"`
}

// headers are the request headers every delivery carries, in the order the
// document lists them. The signature headers are present when the webhook
// has a secretKey, which is why they are not required.
var headers = []struct {
	key string
	p   parameter
}{
	{"webhookId", parameter{Name: "webhook-id", Description: "Standard Webhooks: the message id (the event's id; for a batch, the batch's). The same on every retry: deduplicate by it.", Example: "evt_1"}},
	{"webhookTimestamp", parameter{Name: "webhook-timestamp", Description: "Standard Webhooks: Unix seconds when this attempt was signed.", Example: "1767225600"}},
	{"webhookSignature", parameter{Name: "webhook-signature", Description: "Standard Webhooks: `v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded part of a `whsec_` secret (else the secret's bytes). During a secret rotation, two space-separated signatures: accept the request if either matches.", Example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}},
	{"xWebhookSignature", parameter{Name: "X-Webhook-Signature", Description: "`sha256=<hex HMAC-SHA256 of the raw body>` with the same key; one line per key during a rotation.", Example: "sha256=3f1c..."}},
	{"xWebhookId", parameter{Name: "X-Webhook-ID", Description: "The event's id (a batch's id for a batch), the same on every retry.", Required: true, Example: "evt_1"}},
	{"xEventType", parameter{Name: "X-Event-Type", Description: "The event's type (`webhookd.batch` for a batch).", Required: true, Example: "order.created"}},
	{"xWebhookAttempt", parameter{Name: "X-Webhook-Attempt", Description: "The attempt number, from 1.", Required: true, Example: "1"}},
}

// componentKey is what an OpenAPI component name may hold.
var componentKey = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// OpenAPI builds the OpenAPI 3.1 document of a catalog: one entry in
// `webhooks` per type (deleted ones left out), keyed by name, whose request
// body is the envelope with the type's schema as `data` (under
// components/schemas), its examples as envelopes, `deprecated` when the type
// is, and the request headers, signatures included. tenantID is the tenant
// the document is for ("" or the default tenant: envelopes without
// tenantId).
func OpenAPI(types []models.EventType, tenantID string) ([]byte, error) {
	types = slices.DeleteFunc(slices.Clone(types), func(t models.EventType) bool { return t.Deleted })
	slices.SortFunc(types, func(a, b models.EventType) int { return strings.Compare(a.Name, b.Name) })
	doc := document{
		OpenAPI: "3.1.0",
		Info: info{Title: "webhookd event catalog", Version: "1",
			Description: "The events webhookd delivers: one entry per event type. Each request is a POST of the envelope " +
				"{id, version, event, tenantId, timestamp, isTest, webhookName, data} whose data follows the type's schema. " +
				"Answer 2xx to acknowledge; anything else is retried."},
		JSONSchemaDialect: Dialect,
		Webhooks:          map[string]pathItem{},
		Components:        components{Schemas: map[string]json.RawMessage{}, Parameters: map[string]parameter{}},
	}
	params := make([]ref, len(headers))
	for i, h := range headers {
		p := h.p
		p.In, p.Schema = "header", json.RawMessage(`{"type":"string"}`)
		doc.Components.Parameters[h.key] = p
		params[i] = ref{"#/components/parameters/" + h.key}
	}
	taken := map[string]bool{}
	for _, t := range types {
		key := uniqueKey(t.Name, taken)
		schemas, err := exportSchemas(t.Schema, key, taken)
		if err != nil {
			return nil, fmt.Errorf("catalog: export %s: %w", t.Name, err)
		}
		maps.Copy(doc.Components.Schemas, schemas)
		body, err := envelopeFor(t.Name, "#/components/schemas/"+key)
		if err != nil {
			return nil, err
		}
		examples, err := exampleEnvelopes(t, tenantID)
		if err != nil {
			return nil, fmt.Errorf("catalog: export %s: %w", t.Name, err)
		}
		doc.Webhooks[t.Name] = pathItem{Post: operation{
			OperationID: key, Summary: t.Name, Description: t.Description, Deprecated: t.Deprecated,
			Parameters:  params,
			RequestBody: requestBody{Required: true, Content: map[string]mediaType{"application/json": {Schema: body, Examples: examples}}},
			Responses: map[string]response{
				"2XX": {Description: "Acknowledged: the delivery succeeded."},
				"410": {Description: "Gone: webhookd stops retrying and disables the webhook."},
			},
		}}
	}
	return json.MarshalIndent(doc, "", "  ")
}

// uniqueKey turns a type's name into a component key, distinct from the
// keys already taken (names may hold ':' and '/', keys may not).
func uniqueKey(name string, taken map[string]bool) string {
	base := componentKey.ReplaceAllString(name, "_")
	key := base
	for i := 2; taken[key]; i++ {
		key = fmt.Sprintf("%s_%d", base, i)
	}
	taken[key] = true
	return key
}

// envelopeFor is the request body's schema: the envelope, with event fixed
// to the type's name and data the type's schema.
func envelopeFor(name, dataRef string) (json.RawMessage, error) {
	event, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(`{
  "type": "object",
  "required": ["id", "version", "event", "timestamp", "webhookName", "data"],
  "properties": {
    "id": {"type": "string", "description": "The event's id: deduplicate by it."},
    "version": {"type": "string", "const": "1"},
    "event": {"type": "string", "const": ` + string(event) + `},
    "tenantId": {"type": "string", "description": "The tenant, left out for the default one."},
    "timestamp": {"type": "string", "format": "date-time", "description": "ISO 8601 in UTC with milliseconds."},
    "isTest": {"type": "boolean", "description": "Present, true, on test events only."},
    "webhookName": {"type": "string"},
    "data": {"$ref": "` + dataRef + `"}
  }
}`), nil
}

// exampleEnvelopes wraps each of the type's examples in an envelope as a
// receiver would get it.
func exampleEnvelopes(t models.EventType, tenantID string) (map[string]example, error) {
	if !hasValue(t.Examples) {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(t.Examples, &list); err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	out := map[string]example{}
	for i, data := range list {
		env := struct {
			ID          string          `json:"id"`
			Version     string          `json:"version"`
			Event       string          `json:"event"`
			TenantID    string          `json:"tenantId,omitempty"`
			Timestamp   string          `json:"timestamp"`
			WebhookName string          `json:"webhookName"`
			Data        json.RawMessage `json:"data"`
		}{"evt_example", "1", t.Name, tenantID, "2026-01-01T00:00:00.000Z", "my-webhook", data}
		if env.TenantID == models.DefaultTenant {
			env.TenantID = ""
		}
		v, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		out[fmt.Sprintf("example%d", i+1)] = example{Value: v}
	}
	return out, nil
}

// exportSchemas returns the components a type's schema becomes: the schema
// under key, and each of its top-level $defs under a key of its own
// (key.name), since code generators name types after components and some
// cannot follow a reference into a component. References are pointed at
// where their targets now are; the rest of the text is kept, so properties
// keep their order (generated types follow it). A schema with an $id is its
// own resource, its references resolve against it, and it is left whole.
func exportSchemas(schema json.RawMessage, key string, taken map[string]bool) (map[string]json.RawMessage, error) {
	if !hasValue(schema) {
		return map[string]json.RawMessage{key: json.RawMessage(`{}`)}, nil
	}
	root, isObject, err := members(schema)
	if err != nil {
		return nil, err
	}
	type def struct {
		key   string
		value json.RawMessage
	}
	var (
		rest   []member
		defs   []def
		hoists = map[string]string{} // "#/$defs/name" → its component key
	)
	for _, m := range root {
		if m.key == "$id" {
			return map[string]json.RawMessage{key: schema}, nil
		}
		if m.key == "$defs" || m.key == "definitions" {
			if ds, ok, err := members(m.value); err == nil && ok {
				for _, d := range ds {
					k := uniqueKey(key+"."+d.key, taken)
					hoists["#/"+m.key+"/"+pointerToken(d.key)] = k
					defs = append(defs, def{k, d.value})
				}
				continue
			}
		}
		rest = append(rest, m)
	}
	target := func(ref string) string {
		if ref != "#" && !strings.HasPrefix(ref, "#/") {
			return ref // another document, or an $anchor's plain name
		}
		// A pointer in a URI fragment may be percent-encoded
		// (#/$defs/my%20name); compare and rebuild it decoded, and
		// encode it again.
		if dec, err := url.PathUnescape(ref); err == nil {
			ref = dec
		}
		for prefix, k := range hoists {
			if ref == prefix || strings.HasPrefix(ref, prefix+"/") {
				return "#/components/schemas/" + k + escapeFragment(ref[len(prefix):])
			}
		}
		return "#/components/schemas/" + key + escapeFragment(ref[1:])
	}
	if isObject && len(defs) > 0 {
		schema = object(rest)
	}
	out := map[string]json.RawMessage{}
	if out[key], err = rewriteRefs(schema, target); err != nil {
		return nil, err
	}
	for _, d := range defs {
		if out[d.key], err = rewriteRefs(d.value, target); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// member is one member of a JSON object, its value as written.
type member struct {
	key   string
	value json.RawMessage
}

// members reads a JSON object's members in order; isObject is false (and
// the list empty) for any other value.
func members(raw json.RawMessage) (ms []member, isObject bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false, err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false, err
		}
		ms = append(ms, member{k.(string), v})
	}
	return ms, true, nil
}

// object writes members back as one JSON object.
func object(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteString(": ")
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// escapeFragment percent-encodes a JSON pointer for a URI fragment, token
// by token.
func escapeFragment(pointer string) string {
	tokens := strings.Split(pointer, "/")
	for i, t := range tokens {
		tokens[i] = url.PathEscape(t)
	}
	return strings.Join(tokens, "/")
}

// pointerToken escapes a name as one token of a JSON pointer.
func pointerToken(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}

// rewriteRefs replaces the value of every reference in schema by
// target(value) and changes nothing else.
func rewriteRefs(schema json.RawMessage, target func(string) string) (json.RawMessage, error) {
	r := rebaser{raw: schema, dec: json.NewDecoder(bytes.NewReader(schema))}
	r.dec.UseNumber()
	if err := r.value(false); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	last := 0
	for _, s := range r.refs {
		out.Write(schema[last:s.start])
		v, err := json.Marshal(target(s.ref))
		if err != nil {
			return nil, err
		}
		out.Write(v)
		last = s.end
	}
	out.Write(schema[last:])
	return out.Bytes(), nil
}

// Keywords whose value is data, not a schema: a "$ref" in there is not a
// reference. And keywords whose value maps names to schemas: its keys are
// names, not keywords.
var (
	dataKeywords = map[string]bool{"const": true, "enum": true, "default": true, "examples": true, "example": true}
	nameMaps     = map[string]bool{"properties": true, "patternProperties": true, "$defs": true, "definitions": true, "dependentSchemas": true}
)

type rebaser struct {
	raw  []byte
	dec  *json.Decoder
	refs []refAt
}

// refAt is one reference string to replace: raw[start:end] is its JSON text.
type refAt struct {
	start, end int
	ref        string
}

// value reads one JSON value: a schema (or a list of schemas, or a keyword's
// plain value) unless data.
func (r *rebaser) value(data bool) error {
	tok, err := r.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		for r.dec.More() {
			k, err := r.dec.Token()
			if err != nil {
				return err
			}
			key, _ := k.(string)
			keyEnd := int(r.dec.InputOffset())
			switch {
			case data || dataKeywords[key]:
				err = r.value(true)
			case nameMaps[key]:
				err = r.nameMap()
			case key == "$ref" || key == "$dynamicRef":
				err = r.ref(keyEnd)
			default:
				err = r.value(false)
			}
			if err != nil {
				return err
			}
		}
		_, err = r.dec.Token() // }
	case json.Delim('['):
		for r.dec.More() {
			if err := r.value(data); err != nil {
				return err
			}
		}
		_, err = r.dec.Token() // ]
	}
	return err
}

// nameMap reads {name: schema, ...}.
func (r *rebaser) nameMap() error {
	tok, err := r.dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return nil // not a map: the compiler refused it already
	}
	for r.dec.More() {
		if _, err := r.dec.Token(); err != nil {
			return err
		}
		if err := r.value(false); err != nil {
			return err
		}
	}
	_, err = r.dec.Token()
	return err
}

// ref reads a reference's value, the key of which ended at keyEnd, and
// notes it.
func (r *rebaser) ref(keyEnd int) error {
	tok, err := r.dec.Token()
	if err != nil {
		return err
	}
	s, ok := tok.(string)
	if !ok {
		return nil
	}
	start := keyEnd
	for start < len(r.raw) && strings.IndexByte(" \t\r\n:", r.raw[start]) >= 0 {
		start++
	}
	r.refs = append(r.refs, refAt{start: start, end: int(r.dec.InputOffset()), ref: s})
	return nil
}

// checkExportable refuses a schema whose references the OpenAPI export
// cannot carry over: each must point within the schema by a JSON pointer
// (#/$defs/name, #/properties/x) that still resolves once the schema and
// its $defs are components. An $anchor's name, a nested $id or a top-level
// $id make references that OpenAPI tools resolve against the exported
// document instead, where they name nothing, and one such type made the
// whole tenant's export unloadable.
func checkExportable(schema json.RawMessage) error {
	const key = "t"
	out, err := exportSchemas(schema, key, map[string]bool{key: true})
	if err != nil {
		return err
	}
	docs := map[string]any{}
	for k, raw := range out {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		docs[k] = v
	}
	for _, k := range sortedKeys(out) {
		r := rebaser{raw: out[k], dec: json.NewDecoder(bytes.NewReader(out[k]))}
		if err := r.value(false); err != nil {
			return err
		}
		for _, ref := range r.refs {
			if !resolves(docs, ref.ref) {
				return fmt.Errorf("$ref %q cannot be carried over to the OpenAPI export: refer within the schema by a JSON pointer "+
					"(#/$defs/name, #/properties/...), without $id or $anchor", original(schema, ref.ref))
			}
		}
	}
	return nil
}

// original is what the user wrote for an exported reference, as near as
// one can say: the exported form names an internal component.
func original(schema json.RawMessage, exported string) string {
	if rest, ok := strings.CutPrefix(exported, "#/components/schemas/t"); ok {
		return "#" + strings.TrimPrefix(rest, ".")
	}
	return exported
}

// resolves reports whether ref (#/components/schemas/key/pointer...) names
// a value in docs (component key → decoded schema).
func resolves(docs map[string]any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		return false
	}
	tokens := strings.Split(rest, "/")
	v, ok := docs[tokens[0]]
	if !ok {
		return false
	}
	for _, t := range tokens[1:] {
		t, err := url.PathUnescape(t)
		if err != nil {
			return false
		}
		t = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			if v, ok = x[t]; !ok {
				return false
			}
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(x) {
				return false
			}
			v = x[i]
		default:
			return false
		}
	}
	return true
}
