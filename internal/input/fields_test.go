package input

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type fieldsDoc struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty" input:"prose"`
	Headers     map[string]string `json:"headers,omitempty"`
	Filters     []struct {
		Type string `json:"type"`
	} `json:"filters,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	Ignored any             `json:"ignored,omitempty" input:"-"`
	Ref     map[string]any  `json:"ref,omitempty"`
	Nested  *struct {
		Note string `json:"note" input:"prose"`
	} `json:"nested,omitempty"`
}

func TestFields(t *testing.T) {
	for _, c := range []struct{ name, body, path, msg string }{
		{"plain", `{"name":"orders é 🧑‍💻","description":"line one\n\tline two\r\n\u00ad","data":{"x":"\u0001"},"ignored":"\u0001"}`, "", ""},
		{"a tab in a name", `{"name":"a\tb"}`, "name", "control character U+0009"},
		{"a newline in a name", `{"name":"a\nb"}`, "name", "control character U+000A"},
		{"DEL", `{"name":"a\u007f"}`, "name", "control character U+007F"},
		{"C1", `{"name":"a\u009b"}`, "name", "control character U+009B"},
		{"zero-width space", `{"name":"a\u200bb"}`, "name", "invisible format character U+200B"},
		{"byte order mark", `{"name":"\ufeffa"}`, "name", "invisible format character U+FEFF"},
		{"line separator", `{"name":"a\u2028"}`, "name", "line separator"},
		{"bidi override in prose", `{"description":"ok\u202eko"}`, "description", "bidirectional override U+202E"},
		{"bidi isolate in prose", `{"description":"ok\u2067"}`, "description", "bidirectional override"},
		{"escape in prose", `{"description":"\u001b[2J"}`, "description", "control character U+001B"},
		{"header value", `{"headers":{"X-A":"v\u0000"}}`, "headers.X-A", "control character U+0000"},
		{"header name", `{"headers":{"X\u0001":"v"}}`, "headers", "a key: control character"},
		{"slice element", `{"filters":[{"type":"a"},{"type":"b\u0085"}]}`, "filters[1].type", "U+0085"},
		{"inside any", `{"ref":{"list":[1,"x\u0002"]}}`, "ref.list[1]", "U+0002"},
		{"nested prose", `{"nested":{"note":"a\nb"}}`, "", ""},
		{"nested prose, control", `{"nested":{"note":"a\u0007"}}`, "nested.note", "U+0007"},
	} {
		var doc fieldsDoc
		if err := json.Unmarshal([]byte(c.body), &doc); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err := Fields(&doc)
		if c.path == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Path != c.path || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s: %v; want %s: …%s…", c.name, err, c.path, c.msg)
		}
	}
}
