package store

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestQuietTraceRendersOnlyWhatItLogs: the SQL of a fast, successful
// statement is never rendered; an error's or a slow statement's is.
func TestQuietTraceRendersOnlyWhatItLogs(t *testing.T) {
	q := quietTrace{slow: time.Second, Interface: logger.NewSlogLogger(slog.New(slog.DiscardHandler), logger.Config{LogLevel: logger.Warn})}
	for _, c := range []struct {
		name   string
		begin  time.Time
		err    error
		render bool
	}{
		{"fast", time.Now(), nil, false},
		{"not found", time.Now(), gorm.ErrRecordNotFound, false},
		{"error", time.Now(), errors.New("boom"), true},
		{"slow", time.Now().Add(-2 * time.Second), nil, true},
	} {
		rendered := false
		q.Trace(context.Background(), c.begin, func() (string, int64) { rendered = true; return "SELECT 1", 1 }, c.err)
		if rendered != c.render {
			t.Errorf("%s: rendered %v, want %v", c.name, rendered, c.render)
		}
	}
}
