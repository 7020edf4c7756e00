package store_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestFailedStatementsAreLoggedWithoutValues: a statement that fails is
// logged (an operator needs to see it) without the values it carried,
// which may be event data or secrets.
func TestFailedStatementsAreLoggedWithoutValues(t *testing.T) {
	var logs bytes.Buffer
	s := storetest.OpenURL(t, storetest.PostgresURL(t), slog.New(slog.NewTextHandler(&logs, nil)))
	// PostgreSQL refuses NUL in text: the statement fails.
	if _, err := s.GetEvent(t.Context(), "default", "SECRET-VALUE\x00"); err == nil {
		t.Fatal("the statement did not fail; the test needs one that does")
	}
	out := logs.String()
	if !strings.Contains(out, "SQL executed") || !strings.Contains(out, "events") {
		t.Fatalf("the failed statement was not logged:\n%s", out)
	}
	if strings.Contains(out, "SECRET-VALUE") {
		t.Fatalf("the log carries a statement's value:\n%s", out)
	}
}
