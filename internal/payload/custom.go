package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// templateName appears in text/template's errors ("template: payloadTemplate:1: ..."),
// telling the user which of their settings is at fault.
const templateName = "payloadTemplate"

// maxCustomBody caps a template's output: data is finite, but nested
// range loops can still multiply it into something no endpoint wants.
const maxCustomBody = 1 << 20

// templateData is what a Custom template sees: the Message fields
// (.ID, .EventType, .TenantID, ...) and the generic envelope as .Envelope,
// a map, so {{.Envelope.data.entity.name}} works without decoding JSON by
// hand. The raw JSON fields (.Entity, ...) are meant for {{json .Entity}}.
// .TenantID is the tenant as stored, "default" included, while
// .Envelope.tenantId is missing for the default tenant, as in the envelope.
type templateData struct {
	Message
	Envelope map[string]any
}

// ValidateTemplate checks a Custom webhook's template when it is saved: it
// must parse, and rendering a sample message must give valid JSON. An empty
// template is valid; it sends the generic envelope.
func ValidateTemplate(tmpl string) error {
	if strings.TrimSpace(tmpl) == "" {
		return nil
	}
	t, err := parseCustom(tmpl)
	if err != nil {
		return err
	}
	if _, err := execCustom(t, sampleMessage()); err != nil {
		return fmt.Errorf("trial render with a sample message: %w", err)
	}
	return nil
}

func custom(tmpl string, m Message) ([]byte, error) {
	t, err := parseCustom(tmpl)
	if err != nil {
		return nil, err
	}
	return execCustom(t, m)
}

func parseCustom(tmpl string) (*template.Template, error) {
	t, err := template.New(templateName).
		Funcs(template.FuncMap{"json": toJSON}).
		Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("parse custom payload template: %w", err)
	}
	if err := checkLoops(t.Tree.Root, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", templateName, err)
	}
	return t, nil
}

// maxRangeDepth bounds nested loops: a webhook body needs at most a list
// inside a list, and deeper nesting over a large event multiplies CPU time.
const maxRangeDepth = 2

// checkLoops refuses what could run without bound: `range` over a number
// (Go templates count up to it) and loops nested deeper than maxRangeDepth.
func checkLoops(n parse.Node, depth int) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkLoops(c, depth); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		if depth+1 > maxRangeDepth {
			return fmt.Errorf("range loops may nest at most %d deep", maxRangeDepth)
		}
		for _, cmd := range n.Pipe.Cmds {
			for _, arg := range cmd.Args {
				if _, ok := arg.(*parse.NumberNode); ok {
					return errors.New("range over a number is not allowed")
				}
			}
		}
		if err := checkLoops(n.List, depth+1); err != nil {
			return err
		}
		return checkLoops(n.ElseList, depth)
	case *parse.IfNode:
		if err := checkLoops(n.List, depth); err != nil {
			return err
		}
		return checkLoops(n.ElseList, depth)
	case *parse.WithNode:
		if err := checkLoops(n.List, depth); err != nil {
			return err
		}
		return checkLoops(n.ElseList, depth)
	}
	return nil
}

func execCustom(t *template.Template, m Message) ([]byte, error) {
	env, err := envelopeMap(m)
	if err != nil {
		return nil, err
	}
	out := cappedBuffer{max: maxCustomBody}
	if err := t.Execute(&out, templateData{Message: m, Envelope: env}); err != nil {
		return nil, fmt.Errorf("execute custom payload template: %w", err)
	}
	body := out.Bytes()
	// Unmarshalling into RawMessage validates without building values, and
	// unlike json.Valid says where the problem is.
	var probe json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("%s produced invalid JSON at byte %d: %w", templateName, syntax.Offset, err)
		}
		return nil, fmt.Errorf("%s produced invalid JSON: %w", templateName, err)
	}
	return body, nil
}

// toJSON is the template's json func, so values are quoted and escaped
// instead of pasted into the JSON text.
func toJSON(v any) (string, error) {
	b, err := marshal(v)
	if err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return string(b), nil
}

// envelopeMap decodes the generic envelope for .Envelope. UseNumber keeps
// large integer ids exact when a template re-encodes them.
func envelopeMap(m Message) (map[string]any, error) {
	body, err := envelope(m)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var env map[string]any
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("decode envelope for template: %w", err)
	}
	return env, nil
}

// cappedBuffer is a bytes.Buffer that refuses to grow past max.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, fmt.Errorf("output exceeds %d bytes", c.max)
	}
	return c.Buffer.Write(p)
}

// sampleMessage has every field set, so a trial render exercises what a
// template is likely to reference.
func sampleMessage() Message {
	return Message{
		ID:          "00000000-0000-0000-0000-000000000000",
		EventType:   "entityUpdated",
		TenantID:    "sample-tenant",
		Timestamp:   time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		IsTest:      true,
		WebhookName: "sample-webhook",
		EntityType:  "table",
		Entity:      json.RawMessage(`{"id":"11111111-1111-1111-1111-111111111111","name":"orders","fullyQualifiedName":"warehouse.sales.public.orders"}`),
		ChangeDescription: json.RawMessage(`{"fieldsAdded":[],"fieldsUpdated":[{"name":"description",` +
			`"oldValue":"old","newValue":"new"}],"fieldsDeleted":[]}`),
	}
}
