package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/config"
)

// TestLogFormat: LOG_FORMAT=json writes one JSON object per line; text
// writes key=value lines.
func TestLogFormat(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		cfg, err := config.Load(config.ModeDev, func(k string) string {
			return map[string]string{"LOG_FORMAT": format}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		newLogger(&out, cfg).With("cmd", "dev").Info("request", "tenant", "acme", "status", 202)
		line := strings.TrimSpace(out.String())
		var rec map[string]any
		isJSON := json.Unmarshal([]byte(line), &rec) == nil
		switch {
		case format == "json" && (!isJSON || rec["tenant"] != "acme" || rec["cmd"] != "dev" || rec["msg"] != "request"):
			t.Errorf("json: got %q", line)
		case format == "text" && (isJSON || !strings.Contains(line, "tenant=acme status=202")):
			t.Errorf("text: got %q", line)
		}
	}
	cfg, _ := config.Load(config.ModeDev, func(string) string { return "" })
	cfg.LogLevel = slog.LevelWarn
	var out bytes.Buffer
	newLogger(&out, cfg).Info("dropped")
	if out.Len() != 0 {
		t.Errorf("LOG_LEVEL=warn still wrote info: %q", out.String())
	}
}
