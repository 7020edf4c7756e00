package input

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	for _, c := range []struct {
		name, body, path, msg string
	}{
		{"plain", `{"type":"a","data":{"x":[1,-2.5e3,"é",true,null,{}],"y":"\u00e9\ud83d\ude00\n\\u0000"}}`, "", ""},
		{"raw invalid UTF-8", "{\"data\":{\"x\":\"a\xffb\"}}", "data.x", "not valid UTF-8"},
		{"overlong encoding", "{\"data\":[\"\xc0\xaf\"]}", "data[0]", "not valid UTF-8"},
		{"encoded surrogate", "{\"data\":\"\xed\xa0\x80\"}", "data", "not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"data\":{\"\xff\":1}}", "data", "a key: not valid UTF-8"},
		{"lone high surrogate", `{"data":{"x":"\ud800"}}`, "data.x", "high surrogate"},
		{"high surrogate then a letter", `{"data":{"x":"\ud800\u0041"}}`, "data.x", "high surrogate"},
		{"lone low surrogate", `{"a":[0,{"b":"x\uDC00"}]}`, "a[1].b", "low surrogate"},
		{"escaped NUL", `{"data":"a\u0000"}`, "data", "NUL"},
		{"raw NUL", "{\"data\":\"a\x00\"}", "data", "NUL"},
		{"escaped backslash then u0000 is text", `{"data":"\\u0000"}`, "", ""},
		{"huge exponent", `{"data":{"n":1e999999}}`, "data.n", "out of range"},
		{"tiny exponent", `{"data":{"n":1e-999999}}`, "data.n", "out of range"},
		{"exponent digits", `{"n":1e0000000000000000000001}`, "", ""},
		{"too many exponent digits", `{"n":1e10000000000}`, "n", "out of range"},
		{"largest numeric", `{"n":1e131071}`, "", ""},
		{"past the largest", `{"n":12.5e131071}`, "n", "out of range"},
		{"smallest scale", `{"n":1e-16383}`, "", ""},
		{"past the smallest", `{"n":0.5e-16383}`, "n", "out of range"},
		{"zero with a huge exponent", `{"n":0e999999}`, "", ""},
		{"zero with too fine a scale", `{"n":0e-20000}`, "n", "out of range"},
		{"top-level array", `[1,"\ud800"]`, "[1]", "surrogate"},
		{"top-level string", `"\ud800"`, "request body", "surrogate"},
		{"not JSON is the decoder's", `{"a":}`, "", ""},
		{"truncated is the decoder's", `{"a":"\ud8`, "", ""},
	} {
		err := JSON("", []byte(c.body))
		var e *Error
		switch {
		case c.path == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.path != "" && !errors.As(err, &e):
			t.Errorf("%s: accepted, want %s: ...%s", c.name, c.path, c.msg)
		case c.path != "" && (e.Path != c.path || !strings.Contains(e.Msg, c.msg)):
			t.Errorf("%s: %v, want %s: ...%s", c.name, err, c.path, c.msg)
		}
	}
	if err := JSON("events[3]", []byte(`{"data":"\ud800"}`)); err == nil || err.Error()[:len("events[3].data:")] != "events[3].data:" {
		t.Errorf("prefix: %v", err)
	}
}

// TestJSONAcceptsWhatEncodingJSONWrites: whatever a Go program marshals
// (valid strings, any float64) passes.
func TestJSONAcceptsWhatEncodingJSONWrites(t *testing.T) {
	v := map[string]any{"s": "a\tb\u2028\U0001F600<>&", "f": []float64{1e308, -1e-308, 0.1, 5e-324}, "n": nil, "k\x7f": true}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := JSON("", b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

func TestText(t *testing.T) {
	for v, ok := range map[string]bool{
		"order.created": true, "Zoë 🙂": true, "": true,
		"a\x00": false, "\xff": false, "a\nb": false, "a\tb": false, "\u0085": false, "a\x7f": false,
		strings.Repeat("a", 65): false,
	} {
		err := Text("eventType", v, 64)
		if (err == nil) != ok {
			t.Errorf("Text(%q) = %v, want ok=%v", v, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "eventType: ") {
			t.Errorf("Text(%q): %v does not name the field", v, err)
		}
	}
}
