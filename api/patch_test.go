package api

import (
	"errors"
	"strings"
	"testing"
)

// TestUnchangedComparesWhatClientsSee: a read-only field is compared as its
// JSON, so a pointer to an equal value is no change and nil to false is
// one; the first changed field is named.
func TestUnchangedComparesWhatClientsSee(t *testing.T) {
	yes, yes2, no := true, true, false
	if err := unchanged([]field{{"id", "a", "a"}, {"paused", &yes, &yes2}}); err != nil {
		t.Fatalf("equal values refused: %v", err)
	}
	err := unchanged([]field{{"id", "a", "a"}, {"deleted", nil, &no}, {"version", 1, 2}})
	var e *Error
	if !errors.As(err, &e) || e.Status != 422 || !strings.HasPrefix(e.Message, "deleted: read-only") {
		t.Fatalf("got %#v, want a 422 naming deleted", err)
	}
}
