package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWorkerReadinessNamesWhatIsDown: the worker's /readyz answers 503
// naming the dependency that does not answer, 200 with none.
func TestWorkerReadinessNamesWhatIsDown(t *testing.T) {
	m, err := NewMetrics(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var down []string
	h := metricsHandler(m, func(context.Context) []string { return down })
	for _, c := range []struct {
		down   []string
		status int
		body   string
	}{
		{nil, 200, `{"ready":true,"down":[]}`},
		{[]string{"database"}, 503, `{"ready":false,"down":["database"]}`},
	} {
		down = c.down
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != c.status || strings.TrimSpace(rec.Body.String()) != c.body {
			t.Errorf("down %v: %d %s, want %d %s", c.down, rec.Code, rec.Body, c.status, c.body)
		}
	}
}
