package payload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/webhookd/webhookd/models"
)

// fanOut is {{template}} calls doubling 40 times: 2^40 calls.
func fanOut() string {
	var sb strings.Builder
	for i := range 40 {
		fmt.Fprintf(&sb, `{{define "t%d"}}{{template "t%d"}}{{template "t%d"}}{{end}}`, i, i+1, i+1)
	}
	sb.WriteString(`{{define "t40"}}{{end}}{{template "t0"}}{}`)
	return sb.String()
}

// hugeWidths is one printf of nine 1 MB numbers, in a loop.
const hugeWidths = `{{range 1000}}{{$x := printf "%0999999d%0999999d%0999999d%0999999d%0999999d%0999999d%0999999d%0999999d%0999999d" 1 2 3 4 5 6 7 8 9}}{{end}}{}`

// templateAttacks are the templates an outside review ran (or would have
// run next) to burn CPU or memory with one save or one delivery.
var templateAttacks = []struct{ name, tmpl string }{
	{"range over a variable", `{{$n := 1000000000}}{{range $n}}{{end}}{}`},
	{"range over a parenthesised number", `{{range (1000000000)}}{{end}}{}`},
	{"range over a number piped through a function", `{{range (len "abc" | print | len)}}{{range 1000000000}}{{end}}{{end}}{}`},
	{"loops in a define block", `{{define "l"}}{{range 1000}}{{range 1000}}{{end}}{{end}}{{end}}{{template "l"}}{}`},
	{"loops in a block", `{{block "b" .}}{{range 100000}}{{range 100000}}{{end}}{{end}}{{end}}{}`},
	{"nested loops", `{{range 400}}{{range 400}}{{range 400}}{{end}}{{end}}{{end}}{}`},
	{"looping twice over the event's data", `{{range .Envelope.data}}{{range $.Envelope.data}}{{end}}{{end}}{}`},
	{"looping twice over the event's raw data", `{{range .Data}}{{range $.Data}}{{end}}{{end}}{}`},
	{"exponential template fan-out", fanOut()},
	{"recursion", `{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}{}`},
	{"huge printf widths", hugeWidths},
	{"huge printf widths on one operand", `{{$x := printf "` + strings.Repeat("%0999999[1]d", 20) + `" 0}}{}`},
	{"printf's * width", `{{$x := printf "%0*d" 999999 0}}{}`},
	{"print of the envelope, many times", `{{range 90000}}{{$x := print $.Envelope $.Envelope $.Envelope}}{{end}}{}`},
	{"json of the envelope, many times", `{{range 90000}}{{$x := json $.Envelope}}{{end}}{}`},
	{"html of the envelope, many times", `{{range 90000}}{{$x := html $.Envelope $.Envelope}}{{end}}{}`},
	{"huge output", `[{{range 50000}}"` + strings.Repeat("x", 100) + `",{{end}}""]`},
}

func TestTemplateAttacksAreRefusedAtSave(t *testing.T) {
	for _, tt := range templateAttacks {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := ValidateTemplate(context.Background(), "t", tt.tmpl)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("validation took %s", took)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrRenderBudget) && !strings.Contains(err.Error(), "not supported") {
				t.Errorf("error is not the render budget's: %v", err)
			}
		})
	}
}

// largeEvent has data of 10,000 fields and a 200 KB string: what a
// producer may post, and what the attacks run against at delivery.
func largeEvent() Message {
	m := tableUpdated(false)
	fields := map[string]any{"big": strings.Repeat("a", 200_000)}
	for i := range 10_000 {
		fields[fmt.Sprintf("f%05d", i)] = i
	}
	m.Data, _ = json.Marshal(fields)
	return m
}

func TestTemplateAttacksAreBoundedAtRender(t *testing.T) {
	m := largeEvent()
	for _, tt := range templateAttacks {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Render(context.Background(), models.WebhookCustom, Options{Template: tt.tmpl}, m)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("render took %s", took)
			}
			if err == nil {
				t.Fatal("rendered")
			}
			if !errors.Is(err, ErrRenderBudget) && !strings.Contains(err.Error(), "not supported") {
				t.Errorf("error is not the render budget's: %v", err)
			}
		})
	}
}

func TestRenderStopsAtItsDeadline(t *testing.T) {
	// Each iteration compares two 200 KB strings: cheap steps, slow in sum.
	m := largeEvent()
	var fields map[string]any
	_ = json.Unmarshal(m.Data, &fields)
	fields["big2"] = strings.Repeat("a", 199_999) + "b"
	m.Data, _ = json.Marshal(fields)
	const tmpl = `{{range 99000}}{{if eq $.Envelope.data.big $.Envelope.data.big2}}{{end}}{{end}}{}`

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Render(ctx, models.WebhookCustom, Options{Template: tmpl}, m)
	took := time.Since(start)
	if !errors.Is(err, ErrRenderBudget) || !strings.Contains(err.Error(), "took longer than") {
		t.Fatalf("error = %v", err)
	}
	if took > time.Second {
		t.Errorf("a render with 100 ms left took %s", took)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(cancelled, models.WebhookCustom, Options{Template: tmpl}, m); !errors.Is(err, context.Canceled) {
		t.Errorf("render with a cancelled context: %v", err)
	}
}

func TestTemplateSizeLimit(t *testing.T) {
	tmpl := `{"a": "` + strings.Repeat("x", MaxTemplateSize) + `"}`
	if err := ValidateTemplate(context.Background(), "t", tmpl); err == nil || !strings.Contains(err.Error(), "more than 65536") {
		t.Fatalf("a %d-byte template: %v", len(tmpl), err)
	}
}

func TestWideSampleSquaredIsOverBudget(t *testing.T) {
	if wideSampleFields*wideSampleFields <= MaxRenderSteps || 2*wideSampleFields > MaxRenderSteps/10 {
		t.Fatalf("wideSampleFields %d: its square must be over the budget, one loop far under", wideSampleFields)
	}
}

// TestBudgetedFuncsMatchBuiltins: the replaced builtins print what
// text/template's own would have printed. (printf's %T and the EXTRA note
// for an operand too many name the wrapper operands are formatted through.)
func TestBudgetedFuncsMatchBuiltins(t *testing.T) {
	data := map[string]any{
		"s": "a<b>&'\"", "n": 42, "f": 3.14159, "m": map[string]any{"k": []any{1, "x"}}, "nil": nil,
		"t": time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC), "b": true,
	}
	for _, action := range []string{
		`print .s .n .f .m .nil .b`, `print .n .n "x" .n`, `print`, `print .s`,
		`println .s .n .m`, `println`,
		`printf "%s|%d|%5.2f|%-6v|%q|%x|%+v|%#v|%08.3f|%T" .s .n .f .b .s .s .m .m .f .n`,
		`printf "%[2]d %[1]s %d" .s .n .n`, `printf "%d %d" .n`, `printf "%!" .n`,
		`printf "100%%"`, `printf "%v %s" .nil .t`, `printf "%c%U" 65 65`,
		`html .s`, `html .s .n`, `js .s`, `js .m`, `urlquery .s`, `urlquery .s .n`,
	} {
		want := execPlain(t, action, data)
		b := newBudget(context.Background(), time.Now(), MaxRenderTime)
		tmpl := template.Must(template.New("t").Funcs(b.userFuncs()).Parse("{{" + action + "}}"))
		var got bytes.Buffer
		if err := tmpl.Execute(&got, data); err != nil {
			t.Errorf("%s: %v", action, err)
			continue
		}
		if action == `printf "%s|%d|%5.2f|%-6v|%q|%x|%+v|%#v|%08.3f|%T" .s .n .f .b .s .s .m .m .f .n` {
			// %T names the wrapper printf formats operands through.
			want = strings.TrimSuffix(want, "int")
			if !strings.HasPrefix(got.String(), want) {
				t.Errorf("%s:\n got %q\nwant %q…", action, got.String(), want)
			}
			continue
		}
		if got.String() != want {
			t.Errorf("%s:\n got %q\nwant %q", action, got.String(), want)
		}
	}
}

func execPlain(t *testing.T, action string, data any) string {
	t.Helper()
	var out bytes.Buffer
	if err := template.Must(template.New("t").Parse("{{"+action+"}}")).Execute(&out, data); err != nil {
		t.Fatalf("%s with the builtins: %v", action, err)
	}
	return out.String()
}
