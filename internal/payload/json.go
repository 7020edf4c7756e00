package payload

import (
	"bytes"
	"encoding/json"
)

// marshal is json.Marshal without HTML escaping: bodies go to machines, not
// into HTML, and receivers should see "<" in an entity description as "<".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// present returns raw, or nil when it carries no value: empty, blank or
// JSON null (what a NULL column decodes to).
func present(raw json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	return raw
}
