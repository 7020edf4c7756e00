package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogAdapter lets the embedded Temporal server write through webhookd's one
// slog.Logger. The server is chatty at info level, so dev mode passes a logger
// with a raised minimum level (Options.ServerLogLevel).
type slogAdapter struct {
	l        *slog.Logger
	minLevel slog.Level
}

var _ log.Logger = slogAdapter{}

func (a slogAdapter) emit(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background() // the server's logger API carries no context
	if level < a.minLevel || !a.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	a.l.LogAttrs(ctx, level, msg, attrs...)
}

func (a slogAdapter) Debug(msg string, tags ...tag.Tag)  { a.emit(slog.LevelDebug, msg, tags) }
func (a slogAdapter) Info(msg string, tags ...tag.Tag)   { a.emit(slog.LevelInfo, msg, tags) }
func (a slogAdapter) Warn(msg string, tags ...tag.Tag)   { a.emit(slog.LevelWarn, msg, tags) }
func (a slogAdapter) Error(msg string, tags ...tag.Tag)  { a.emit(slog.LevelError, msg, tags) }
func (a slogAdapter) DPanic(msg string, tags ...tag.Tag) { a.emit(slog.LevelError, msg, tags) }

// Panic and Fatal must not return: the server's code goes on as if they
// had ended the program (a failed listen is followed by use of the nil
// listener). Panicking with the message keeps the cause visible.
func (a slogAdapter) Panic(msg string, tags ...tag.Tag) {
	a.emit(slog.LevelError, msg, tags)
	panic("temporal server: " + msg + tagText(tags))
}

func (a slogAdapter) Fatal(msg string, tags ...tag.Tag) {
	a.emit(slog.LevelError, msg, tags)
	panic("temporal server: " + msg + tagText(tags))
}

func tagText(tags []tag.Tag) string {
	var b strings.Builder
	for _, t := range tags {
		fmt.Fprintf(&b, " %s=%v", t.Key(), t.Value())
	}
	return b.String()
}
