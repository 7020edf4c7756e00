package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestInputsOfNamesWhatIsRefused covers what the hostile-input table cannot
// send through the OpenAPI check: a query parameter's name, and the limits.
func TestInputsOfNamesWhatIsRefused(t *testing.T) {
	for _, c := range []struct {
		target string
		params gin.Params
		header []string
		field  string // "" when accepted
	}{
		{target: "/x?eventType=order.created&tenantId=acme", params: gin.Params{{Key: "id", Value: "evt_1"}}},
		{target: "/x?%FF=1", field: "query parameter"},
		{target: "/x?after=" + strings.Repeat("a", maxQueryValue+1), field: "after"},
		{target: "/x", params: gin.Params{{Key: "name", Value: strings.Repeat("n", maxPathParam+1)}}, field: "name"},
		{target: "/x", params: gin.Params{{Key: "id", Value: "a\u0085b"}}, field: "id"},
		{target: "/x", header: []string{"X-Webhookd-User", strings.Repeat("u", 129)}, field: "X-Webhookd-User"},
		{target: "/x", header: []string{"X-Webhookd-User", "alice@example.com"}},
		{target: "/x", header: []string{"Idempotency-Key", "k\x01"}, field: "Idempotency-Key"},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		for i := 0; i+1 < len(c.header); i += 2 {
			r.Header.Set(c.header[i], c.header[i+1])
		}
		err := inputsOf(r, c.params)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s %v: refused: %v", c.target, c.header, err)
		case c.field != "" && (err == nil || !strings.HasPrefix(err.Error(), c.field+": ")):
			t.Errorf("%s %v: %v, want a refusal naming %s", c.target, c.header, err, c.field)
		}
	}
}
