package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

// TestRootRedirectsToTheConsole: with the console served, GET / sends a
// browser there; without it, / is an unknown route like any other.
func TestRootRedirectsToTheConsole(t *testing.T) {
	withConsole := func(s *setup) {
		s.deps.Console = func(http.Handler) (http.Handler, error) {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), nil
		}
	}
	for _, c := range []struct {
		name     string
		opts     []option
		status   int
		location string
	}{
		{"console", []option{withConsole}, http.StatusFound, "/console/"},
		{"no console", nil, http.StatusNotFound, ""},
	} {
		a := newAPI(t, store.Postgres, c.opts...)
		rec := httptest.NewRecorder()
		// Straight to the handler: / is the console's door, not an API
		// route that openapi.json describes.
		a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != c.status || rec.Header().Get("Location") != c.location {
			t.Errorf("%s: GET / = %d Location %q, want %d %q", c.name, rec.Code, rec.Header().Get("Location"), c.status, c.location)
		}
	}
}
