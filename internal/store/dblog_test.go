package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestQuietTraceRendersOnlyWhatItLogs: the SQL of a fast, successful
// statement is never rendered; an error's or a slow statement's is.
func TestQuietTraceRendersOnlyWhatItLogs(t *testing.T) {
	q := quietTrace{slow: time.Second, Interface: logger.NewSlogLogger(slog.New(slog.DiscardHandler), logger.Config{LogLevel: logger.Warn})}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name   string
		ctx    context.Context
		begin  time.Time
		err    error
		render bool
	}{
		{"fast", context.Background(), time.Now(), nil, false},
		{"not found", context.Background(), time.Now(), gorm.ErrRecordNotFound, false},
		{"error", context.Background(), time.Now(), errors.New("boom"), true},
		{"slow", context.Background(), time.Now().Add(-2 * time.Second), nil, true},
		// Stopping a process cancels its statements: not the database's failure.
		{"canceled", canceled, time.Now().Add(-2 * time.Second), errors.New("sqlite3: interrupted"), false},
	} {
		rendered := false
		q.Trace(c.ctx, c.begin, func() (string, int64) { rendered = true; return "SELECT 1", 1 }, c.err)
		if rendered != c.render {
			t.Errorf("%s: rendered %v, want %v", c.name, rendered, c.render)
		}
	}
}

// TestOpenLogsNothingWhenTheDatabaseIsDown: a refused connection is one
// error, returned; GORM's own raw "failed to initialize database, got error
// %v" line does not precede it in the log.
func TestOpenLogsNothingWhenTheDatabaseIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := Open(context.Background(), "postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=5", log)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with nothing listening")
	}
	if logs.Len() > 0 {
		t.Fatalf("Open logged before returning its error %q:\n%s", err, logs.String())
	}
}
