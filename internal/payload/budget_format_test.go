package payload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/webhookd/webhookd/models"
)

// TestPrintfWidthsAreBoundedBeforeFormatting: fmt pads a map or slice
// element by element and builds the whole text before printf can see its
// size ({{printf "%999999v" .Envelope.data}} made 1 MB per field of the
// event's data). Widths and precisions are refused before fmt allocates.
func TestPrintfWidthsAreBoundedBeforeFormatting(t *testing.T) {
	m := sampleMessage()
	fields := map[string]any{}
	for i := range 64 {
		fields[fmt.Sprintf("f%02d", i)] = i
	}
	m.Data, _ = json.Marshal(fields)
	for _, tmpl := range []string{
		`{{$x := printf "%999999v" .Envelope.data}}{}`,
		`{{$x := printf "%[1]999999v" .Envelope.data}}{}`,
		`{{$x := printf "%-999999v" .Envelope.data}}{}`,
		`{{$x := printf "%.999999f" 1.5}}{}`,
		`{{$x := printf "%0999999d" 1}}{}`,
		`{{$x := printf "%100v" .Envelope.data}}{}`, // under the limit, but once per field
		`{{$x := printf "%200d" .Data}}{}`,          // once per byte of the raw data
		`{{$x := printf "%.100v" .Envelope}}{}`,
		// %p never reaches the operand's Format: it printed the wrapped
		// value with the width, unchecked, element by element.
		`{{$x := printf "%256p" .Data}}{}`,
		`{{$x := printf "%[1]256p" .Envelope.data}}{}`,
		`{{$x := printf "%p" .Envelope}}{}`,
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Render(context.Background(), models.WebhookCustom, Options{Template: tmpl}, m)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("%s: the render allocated %d MB", tmpl, alloc>>20)
		}
		if !errors.Is(err, ErrRenderBudget) {
			t.Errorf("%s: %v", tmpl, err)
		}
		if err := ValidateTemplate(context.Background(), "t", tmpl); !errors.Is(err, ErrRenderBudget) {
			t.Errorf("%s at save: %v", tmpl, err)
		}
	}
	// Ordinary widths still work.
	body, err := Render(context.Background(), models.WebhookCustom,
		Options{Template: `{"a": {{printf "%q" (printf "%-6s|%5.2f|%03d|%10v" "ab" 3.14159 7 .Timestamp)}}}`}, m)
	if err != nil || string(body) != `{"a": "ab    | 3.14|007|2024-01-15 10:30:00 +0000 UTC"}` {
		t.Fatalf("%s, %v", body, err)
	}
}
