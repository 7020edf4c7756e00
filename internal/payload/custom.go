package payload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// templateName appears in text/template's errors ("template: payloadTemplate:1: ..."),
// telling the user which of their settings is at fault.
const templateName = "payloadTemplate"

// ValidateTemplate checks a Custom webhook's template when it is saved: it
// must parse, render a sample message as valid JSON, and stay within the
// render budget for a sample whose data has wideSampleFields fields, so
// work that grows with the square of an event's data is refused here
// rather than at delivery. An empty template is valid; it sends the
// generic envelope. Both renders share one request's allowance
// (MaxRequestRenderTime, unless ctx carries one already) and take tenant's
// render slot (render_gate.go).
func ValidateTemplate(ctx context.Context, tenant, tmpl string) error {
	if strings.TrimSpace(tmpl) == "" {
		return nil
	}
	if allowanceOf(ctx) == nil {
		ctx = WithRequestAllowance(ctx, MaxRequestRenderTime)
	}
	m := sampleMessage()
	m.TenantID = tenant
	if _, err := custom(ctx, tmpl, m); err != nil {
		if errors.Is(err, errParse) || errors.Is(err, ErrRenderBusy) {
			return err
		}
		return fmt.Errorf("trial render with a sample message: %w", err)
	}
	// The wide sample has another shape than the one the template was
	// written for, so only an overrun counts.
	wide := wideSampleMessage()
	wide.TenantID = tenant
	if _, err := custom(ctx, tmpl, wide); errors.Is(err, ErrRenderBudget) || errors.Is(err, ErrRenderBusy) {
		return fmt.Errorf("trial render with a sample message whose data has %d fields: %w", wideSampleFields, err)
	}
	return nil
}

// errParse marks a template that does not parse.
var errParse = errors.New("parse custom payload template")

// maxRenderWait bounds how long a render waits for its slot when ctx does
// not end sooner.
const maxRenderWait = 2 * MaxRenderTime

// custom renders tmpl for m within a fresh render budget, which also ends
// when ctx does, in one of the process's render slots.
func custom(ctx context.Context, tmpl string, m Message) ([]byte, error) {
	if len(tmpl) > MaxTemplateSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", errParse, templateName, len(tmpl), MaxTemplateSize)
	}
	waitCtx, cancel := context.WithTimeout(ctx, maxRenderWait)
	release, err := gate.acquire(waitCtx, m.TenantID)
	cancel()
	if err != nil {
		return nil, err
	}
	defer release()
	a := allowanceOf(ctx)
	left := a.remaining()
	if left <= 0 {
		return nil, timeOverrun{fmt.Errorf("%w: this request's template renders took %s in all", ErrRenderBudget, MaxRequestRenderTime)}
	}
	start := time.Now()
	defer func() { a.charge(time.Since(start)) }()
	b := newBudget(ctx, start, left)
	t, err := template.New(templateName).Funcs(b.userFuncs()).Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errParse, err)
	}
	instrument(t)
	t.Funcs(b.internalFuncs())
	env, err := envelopeMap(m)
	if err != nil {
		return nil, err
	}
	out := cappedBuffer{max: MaxCustomBody}
	if err := t.Execute(&out, newTemplateData(m, env, b)); err != nil {
		switch {
		case b.stopped != nil:
			// Said plainly, where it happened, without the budget's own
			// function names.
			return nil, fmt.Errorf("%s: %w", where(err), b.stopped)
		case errors.Is(err, ErrRenderBudget): // the output cap
			return nil, fmt.Errorf("%s: %w", templateName, err)
		}
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

// where is the place text/template names in an execution error
// ("payloadTemplate:1:28"), or the template's name.
func where(err error) string {
	var exec template.ExecError
	if errors.As(err, &exec) {
		if rest, ok := strings.CutPrefix(exec.Err.Error(), "template: "); ok {
			if loc, _, ok := strings.Cut(rest, ": "); ok {
				return loc
			}
		}
	}
	return templateName
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
		return 0, fmt.Errorf("%w: the output exceeds %d bytes", ErrRenderBudget, c.max)
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

// wideSampleFields is how many fields the wide sample's data has: one loop
// over them is cheap, a loop inside a loop over them is over the budget.
const wideSampleFields = 400

// wideSampleMessage is the sample with data of wideSampleFields null
// fields, both as .Data and as .Envelope.data.
func wideSampleMessage() Message {
	m := sampleMessage()
	var sb strings.Builder
	sb.WriteByte('{')
	for i := range wideSampleFields {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"field%03d":null`, i)
	}
	sb.WriteByte('}')
	m.Data = json.RawMessage(sb.String())
	return m
}
