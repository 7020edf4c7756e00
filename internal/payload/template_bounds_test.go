package payload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

// boundedMethods are the methods a template can reach on its data, each
// bounded by its input or paid for from the budget. A new field whose type
// brings other methods fails TestTemplateDataMethodsAreBounded until it is
// reviewed and listed here (or given a narrower type, as .Timestamp was).
var boundedMethods = []string{
	"payload.templateTime.String", "payload.templateTime.MarshalJSON", "payload.templateTime.Format",
	"payload.templateTime.UTC", "payload.templateTime.Unix", "payload.templateTime.UnixMilli", "payload.templateTime.IsZero",
	"json.RawMessage.MarshalJSON", "json.RawMessage.UnmarshalJSON", // a pointer method: data is never addressable
	"json.Number.String", "json.Number.Float64", "json.Number.Int64",
}

// TestTemplateDataMethodsAreBounded walks every type a template reaches:
// templateData's fields, what their methods return, and what the envelope
// map holds (decoded JSON with UseNumber).
func TestTemplateDataMethodsAreBounded(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var found []string
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		if typ == nil || seen[typ] {
			return
		}
		seen[typ] = true
		for _, mt := range []reflect.Type{typ, reflect.PointerTo(typ)} {
			for i := range mt.NumMethod() {
				m := mt.Method(i)
				found = append(found, mt.String()+"."+m.Name)
				for o := range m.Type.NumOut() {
					walk(m.Type.Out(o))
				}
			}
		}
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				if f := typ.Field(i); f.IsExported() {
					walk(f.Type)
				}
			}
		case reflect.Map, reflect.Slice, reflect.Array, reflect.Pointer:
			walk(typ.Elem())
		}
	}
	walk(reflect.TypeFor[templateData]())
	env, err := envelopeMap(largeEvent())
	if err != nil {
		t.Fatal(err)
	}
	var values func(v any)
	values = func(v any) {
		if v == nil {
			return
		}
		walk(reflect.TypeOf(v))
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				values(e)
			}
		case []any:
			for _, e := range v {
				values(e)
			}
		}
	}
	values(env)
	values(map[string]any{"a": []any{"s", true, nil}}) // every JSON kind
	for _, name := range found {
		name = strings.TrimPrefix(name, "*") // pointer method sets repeat the value's
		if name == "error.Error" {
			continue // methods return errors; text/template reports them
		}
		if !slices.Contains(boundedMethods, name) {
			t.Errorf("a template can call %s: bound it (or narrow the type) and list it in boundedMethods", name)
		}
	}
}

// TestEveryTemplateFuncIsBounded: every text/template builtin is either
// replaced by a paid-for version (userFuncs) or known to be bounded by its
// operands; a builtin added by a later Go fails here until reviewed.
func TestEveryTemplateFuncIsBounded(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "text", "template", "funcs.go"))
	if err != nil {
		t.Skipf("Go's sources are not here: %v", err)
	}
	body := string(src)
	start := strings.Index(body, "func builtins() FuncMap {")
	end := strings.Index(body[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("text/template's builtins() not found")
	}
	names := regexp.MustCompile(`(?m)^\s*"(\w+)":`).FindAllStringSubmatch(body[start:start+end], -1)
	if len(names) < 19 {
		t.Fatalf("read %d builtins", len(names))
	}
	funcs := newBudget(context.Background(), time.Now(), MaxRenderTime).userFuncs()
	for _, n := range names {
		if _, replaced := funcs[n[1]]; !replaced && !slices.Contains(boundedBuiltins, n[1]) {
			t.Errorf("text/template's builtin %q is neither replaced in userFuncs nor listed in boundedBuiltins", n[1])
		}
	}
}

// TestTemplateMethodAbusesAreRefused: what the data's methods offered
// before .Timestamp was narrowed and call was refused.
func TestTemplateMethodAbusesAreRefused(t *testing.T) {
	for _, tmpl := range []string{
		`{{range 1000}}{{$x := $.Timestamp.Format "` + strings.Repeat("Monday January ", 4000) + `"}}{{end}}{}`,
		`{{$x := .Timestamp.AppendFormat .Data "2006"}}{}`,
		`{{$x := .Message.Timestamp.Format "2006"}}{}`,
		`{{$x := .Timestamp.AddDate 1 0 0}}{}`,
		`{{$x := call .Timestamp.UTC}}{}`,
	} {
		if _, err := Render(context.Background(), models.WebhookCustom, Options{Template: tmpl}, largeEvent()); err == nil {
			t.Errorf("%.80s: rendered", tmpl)
		}
	}
	// What templates use keeps working.
	body, err := Render(context.Background(), models.WebhookCustom, Options{
		Template: `{"t": {{json .Timestamp}}, "s": "{{.Timestamp}}", "d": "{{.Timestamp.UTC.Format "2006-01-02"}}", "ms": {{.Timestamp.UnixMilli}}}`,
	}, sampleMessage())
	if err != nil || string(body) != `{"t": "2024-01-15T10:30:00Z", "s": "2024-01-15 10:30:00 +0000 UTC", "d": "2024-01-15", "ms": 1705314600000}` {
		t.Fatalf("%s, %v", body, err)
	}
}

// TestRendersShareTheRequestAllowance: the renders of one request stop
// once together they took MaxRequestRenderTime (here 50 ms), and one
// tenant's render waits for that tenant's previous one, while another
// tenant's goes ahead.
func TestRendersShareTheRequestAllowance(t *testing.T) {
	m := largeEvent()
	const slow = `{{range 99000}}{{if eq $.Envelope.data.big $.Envelope.data.f00001}}{{end}}{{end}}{}`
	ctx := WithRequestAllowance(context.Background(), 50*time.Millisecond)
	if _, err := Render(ctx, models.WebhookCustom, Options{Template: slow}, m); !errors.Is(err, ErrRenderTime) {
		t.Fatalf("first render: %v", err)
	}
	start := time.Now()
	_, err := Render(ctx, models.WebhookCustom, Options{Template: `{}`}, m)
	if !errors.Is(err, ErrRenderBudget) || !errors.Is(err, ErrRenderTime) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a render after the request's allowance is spent: %v", err)
	}

	saved := gate
	gate = newRenderGate(2)
	defer func() { gate = saved }()
	release, err := gate.acquire(context.Background(), m.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Render(short, models.WebhookCustom, Options{Template: `{}`}, m); !errors.Is(err, ErrRenderBusy) {
		t.Fatalf("a second render of the tenant while one runs: %v", err)
	}
	other := m
	other.TenantID = "another"
	if _, err := Render(context.Background(), models.WebhookCustom, Options{Template: `{}`}, other); err != nil {
		t.Fatalf("another tenant's render: %v", err)
	}
	if len(gate.tenants) != 1 {
		t.Errorf("tenant slots kept: %d", len(gate.tenants))
	}
}
