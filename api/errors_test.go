package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

// TestConflictNeverShowsTheDatabasesText: a unique violation carries
// PostgreSQL's message (constraint and value); the client gets a fixed one.
func TestConflictNeverShowsTheDatabasesText(t *testing.T) {
	err := fmt.Errorf("%w: ERROR: duplicate key value violates unique constraint \"webhooks_tenant_name\" (SQLSTATE 23505)", store.ErrConflict)
	got := toAPIError(fmt.Errorf("save: %w", err))
	if got.Status != http.StatusConflict || got.Code != "conflict" {
		t.Fatalf("answer = %+v", got)
	}
	for _, leak := range []string{"duplicate", "webhooks_tenant_name", "SQLSTATE"} {
		if strings.Contains(got.Message, leak) {
			t.Fatalf("message %q shows the database's text (%s)", got.Message, leak)
		}
	}
}
