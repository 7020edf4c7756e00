package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/models"
)

// TestEchoedCredentialsAreMasked: a receiver that echoes the request (as
// httpbin does) does not put the webhook's credentials into the attempt log.
func TestEchoedCredentialsAreMasked(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "token": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
			"url": r.URL.String(), "key": r.URL.Query().Get("key")})
	}))
	defer srv.Close()
	const token, secret, urlKey = "tok-secret-123456", "a-plain-signing-secret", "url key/secret+98765"
	wh := &models.Webhook{ID: "w1", Name: "echo", WebhookType: models.WebhookGeneric, Endpoint: srv.URL + "/in?key=" + url.QueryEscape(urlKey),
		TimeoutSeconds: 5,
		SecretKey:      secret, Headers: map[string]string{"Authorization": "Bearer " + token, "X-Team": "data-platform"}}
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
	if strings.Contains(logged, token) || strings.Contains(logged, secret) || strings.Contains(logged, url.QueryEscape(urlKey)) ||
		strings.Contains(logged, urlKey) || strings.Contains(a.RequestURL, "98765") {
		t.Fatalf("the attempt log holds a credential:\n%s\n%s", a.RequestURL, logged)
	}
	// The receiver got the real URL; the log shows it masked.
	if gotQuery != "key="+url.QueryEscape(urlKey) || a.RequestURL != srv.URL+"/in?key=********" {
		t.Fatalf("receiver's query %q, logged URL %q", gotQuery, a.RequestURL)
	}
	if !strings.Contains(a.ResponseBody, "data-platform") || !strings.Contains(a.ResponseBody, `"token":"********"`) {
		t.Fatalf("the rest of the echo must stay readable:\n%s", a.ResponseBody)
	}
}

// TestTemplateOverrunEndsTheAttempt: a Custom template that spends more
// than its render budget at delivery ends the attempt within the webhook's
// timeout, nothing sent, logged. Over its steps (a loop inside a loop over
// the event's data) it fails the same way every time: rejected.
// Out of time (fewer iterations than its steps, each comparing two 2 MB
// strings): a failed attempt, retried on the schedule, never a permanent
// failure on the first try.
func TestTemplateOverrunEndsTheAttempt(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	// 252 × 252 iterations stay well under the 100,000 steps, and each
	// compares two 2 MB strings: only time can run out, on any machine.
	fields := map[string]any{"a": strings.Repeat("x", 2_000_000), "b": strings.Repeat("x", 1_999_999) + "y"}
	for i := range 250 {
		fields[fmt.Sprintf("f%03d", i)] = i
	}
	data, _ := json.Marshal(fields)
	ev := &models.Event{ID: "evt-1", Type: "order.created", Timestamp: time.Now(), Data: data}
	var logged bytes.Buffer
	p := &Poster{Client: srv.Client(), Version: "test", Now: time.Now, Log: slog.New(slog.NewTextHandler(&logged, nil))}
	for name, tc := range map[string]struct {
		tmpl string
		want attempt.Outcome
	}{
		// Refused before its first iteration: deterministic on a busy machine.
		"steps": {`{{range .Envelope.data}}{{range 100000}}{{end}}{{end}}{}`, attempt.Rejected},
		"time":  {`{{range .Envelope.data}}{{range $.Envelope.data}}{{if eq $.Envelope.data.a $.Envelope.data.b}}{{end}}{{end}}{{end}}{}`, attempt.Failure},
	} {
		tmpl := tc.tmpl
		logged.Reset()
		wh := &models.Webhook{ID: "w1", Name: "custom", WebhookType: models.WebhookCustom, Endpoint: srv.URL, TimeoutSeconds: 1,
			SecretKey: "whsec_c2VjcmV0", PayloadTemplate: tmpl}
		start := time.Now()
		res := p.Post(context.Background(), Request{Webhook: wh, Event: ev, Attempt: 1, Trigger: models.TriggerScheduled})
		took := time.Since(start)
		t.Logf("%s: %s after %s", name, res.Attempt.Error, took)
		if res.Outcome != tc.want || !strings.Contains(res.Attempt.Error, "render budget exceeded") {
			t.Errorf("%s: outcome %s, error %q", name, res.Outcome, res.Attempt.Error)
		}
		if !strings.Contains(logged.String(), "outcome="+string(tc.want)) || strings.Contains(logged.String(), strings.Repeat("x", 100)) {
			t.Errorf("%s: logged %q", name, logged.String())
		}
		if took > 2*time.Second {
			t.Errorf("%s: the attempt took %s with a 1 s timeout", name, took)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the receiver got %d requests", hits.Load())
	}
}
