package ordering_test

import (
	"encoding/json"
	"testing"

	"github.com/webhookd/webhookd/internal/ordering"
)

func TestKey(t *testing.T) {
	data := json.RawMessage(`{"orderId":"o-1","n":42,"order":{"id":7,"tags":["a"]},"none":null}`)
	for path, want := range map[string]string{
		"webhook":         "",
		"event":           "order.created",
		"data.orderId":    "o-1",
		"data.n":          "42",
		"data.order.id":   "7",
		"data.order.tags": `["a"]`,
		"data.none":       "", // null: the keyless sequence
		"data.missing":    "",
		"data.orderId.x":  "", // a string has no fields
	} {
		if got := ordering.Key(path, "order.created", data); got != want {
			t.Errorf("Key(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"webhook", "event", "data.orderId", "data.order.id"} {
		if err := ordering.CheckPath(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "orderId", "data.", "data..id", "data.a.", "id"} {
		if err := ordering.CheckPath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
