package deliver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

// TestEchoedCredentialsAreMasked: a receiver that echoes the request (as
// httpbin does) does not put the webhook's credentials into the attempt log.
func TestEchoedCredentialsAreMasked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "token": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	}))
	defer srv.Close()
	const token, secret = "tok-secret-123456", "a-plain-signing-secret"
	wh := &models.Webhook{ID: "w1", Name: "echo", WebhookType: models.WebhookGeneric, Endpoint: srv.URL, TimeoutSeconds: 5,
		SecretKey: secret, Headers: map[string]string{"Authorization": "Bearer " + token, "X-Team": "data-platform"}}
	p := &Poster{Client: srv.Client(), Version: "test", Now: time.Now}
	res := p.Post(context.Background(), Request{Webhook: wh, Event: &models.Event{ID: "evt-1", Type: "order.created", Timestamp: time.Now()},
		Attempt: 1, Trigger: models.TriggerScheduled})
	a := res.Attempt
	if a == nil || a.StatusCode != 200 {
		t.Fatalf("attempt: %+v", a)
	}
	logged := a.ResponseBody
	for k, v := range a.ResponseHeaders {
		logged += "\n" + k + ": " + v
	}
	if strings.Contains(logged, token) || strings.Contains(logged, secret) {
		t.Fatalf("the attempt log holds a credential:\n%s", logged)
	}
	if !strings.Contains(a.ResponseBody, "data-platform") || !strings.Contains(a.ResponseBody, `"token":"********"`) {
		t.Fatalf("the rest of the echo must stay readable:\n%s", a.ResponseBody)
	}
}
