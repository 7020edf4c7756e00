package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/webhookd/webhookd/models"
)

// The exported document describes what a receiver of a Generic webhook gets
// (payloadFormat webhookd, the default): the envelope with the type's data,
// signed as the README's "The outbound request" says. Code generators read
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
		data := json.RawMessage(`{}`)
		if hasValue(t.Schema) {
			var err error
			if data, err = rebaseRefs(t.Schema, "#/components/schemas/"+key); err != nil {
				return nil, fmt.Errorf("catalog: export %s: %w", t.Name, err)
			}
		}
		doc.Components.Schemas[key] = data
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
    "version": {"const": "1"},
    "event": {"const": ` + string(event) + `},
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

// rebaseRefs points the schema's in-document references ("#/$defs/x") at
// where the schema sits in the exported document, where "#" is the
// document's root, and changes nothing else: the schema keeps its text, so
// properties keep their order (generated types follow it). A schema with
// an $id is its own resource, its references resolve against it, and it is
// left as it is. $schema stays too; it can only name the document's dialect.
func rebaseRefs(schema json.RawMessage, at string) (json.RawMessage, error) {
	r := rebaser{raw: schema, dec: json.NewDecoder(bytes.NewReader(schema))}
	r.dec.UseNumber()
	if err := r.value(false, true); err != nil {
		return nil, err
	}
	if r.hasID {
		return schema, nil
	}
	var out bytes.Buffer
	last := 0
	for _, s := range r.refs {
		out.Write(schema[last:s.start])
		target, err := json.Marshal(at + strings.TrimPrefix(s.ref, "#"))
		if err != nil {
			return nil, err
		}
		out.Write(target)
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
	raw   []byte
	dec   *json.Decoder
	refs  []refAt
	hasID bool
}

// refAt is one reference string to replace: raw[start:end] is its JSON text.
type refAt struct {
	start, end int
	ref        string
}

// value reads one JSON value: a schema (or a list of schemas, or a keyword's
// plain value) unless data; root is the top-level schema.
func (r *rebaser) value(data, root bool) error {
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
				err = r.value(true, false)
			case nameMaps[key]:
				err = r.nameMap()
			case key == "$ref" || key == "$dynamicRef":
				err = r.ref(keyEnd)
			default:
				if root && key == "$id" {
					r.hasID = true
				}
				err = r.value(false, false)
			}
			if err != nil {
				return err
			}
		}
		_, err = r.dec.Token() // }
	case json.Delim('['):
		for r.dec.More() {
			if err := r.value(data, false); err != nil {
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
		if err := r.value(false, false); err != nil {
			return err
		}
	}
	_, err = r.dec.Token()
	return err
}

// ref reads a reference's value, the key of which ended at keyEnd, and
// notes it when it points inside the document.
func (r *rebaser) ref(keyEnd int) error {
	tok, err := r.dec.Token()
	if err != nil {
		return err
	}
	s, ok := tok.(string)
	if !ok || !strings.HasPrefix(s, "#") {
		return nil
	}
	start := keyEnd
	for start < len(r.raw) && strings.IndexByte(" \t\r\n:", r.raw[start]) >= 0 {
		start++
	}
	r.refs = append(r.refs, refAt{start: start, end: int(r.dec.InputOffset()), ref: s})
	return nil
}
