package app

import (
	"io"
	"log/slog"

	"github.com/webhookd/webhookd/internal/config"
)

// newLogger is the process's one logger, in the format LOG_FORMAT names:
// JSON lines for log collectors, key=value text otherwise.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
