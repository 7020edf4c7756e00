package deliver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/models"
)

// TestBodyIsWhatPostSends: for every payload format, Body renders the bytes
// Post sent, and masks a credential that a template put in the body.
func TestBodyIsWhatPostSends(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC)
	p := &Poster{Client: srv.Client(), Version: "test", Now: func() time.Time { return now }}
	ev := &models.Event{TenantID: "acme", ID: "evt_1", Type: "order.created", Timestamp: now, Data: json.RawMessage(`{"orderId":42}`)}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for _, wh := range []models.Webhook{
		{Name: "generic", WebhookType: "Generic", SecretKey: secret},
		{Name: "om", WebhookType: "Generic", PayloadFormat: "openmetadata", SecretKey: secret},
		{Name: "slack", WebhookType: "Slack"},
		{Name: "custom", WebhookType: "Custom", PayloadTemplate: `{"order": {{json .Data}}, "by": "{{.WebhookName}}"}`},
	} {
		wh.Endpoint, wh.TimeoutSeconds = srv.URL, 5
		r := Request{Webhook: &wh, Event: ev, TenantID: "acme", Attempt: 1}
		if res := p.Post(context.Background(), r); res.Attempt.StatusCode != 200 {
			t.Fatalf("%s: post: %+v", wh.Name, res.Attempt)
		}
		body, err := Body(r, now)
		if err != nil || body != got {
			t.Errorf("%s: Body = %q, %v; sent %q", wh.Name, body, err, got)
		}
	}
	leaky := models.Webhook{Name: "leaky", WebhookType: "Custom", SecretKey: secret, Endpoint: srv.URL,
		Headers:         map[string]string{"Authorization": "Bearer abcdefghijkl"},
		PayloadTemplate: `{"copied": "Bearer abcdefghijkl", "secret": "` + secret + `"}`}
	body, err := Body(Request{Webhook: &leaky, Event: ev}, now)
	if err != nil || strings.Contains(body, "abcdefghijkl") || strings.Contains(body, secret) || !strings.Contains(body, redact.Mask) {
		t.Errorf("credentials in a template: Body = %q, %v", body, err)
	}
}
