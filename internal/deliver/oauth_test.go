package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/models"
)

const (
	oauthClientID     = "webhookd-client"
	oauthClientSecret = "client-secret-0f9e8d7c"
)

// tokenServer is an OAuth2 token endpoint (client credentials) issuing
// access-token-1, -2, ... that expire after two minutes. hold, when set, keeps
// each answer back until it is closed.
type tokenServer struct {
	*httptest.Server
	fetches atomic.Int32
	fail    atomic.Bool
	hold    chan struct{}
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok { // after a refusal the library tries again with the credentials in the form
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if r.PostFormValue("grant_type") != "client_credentials" || id != oauthClientID || secret != oauthClientSecret ||
			r.PostFormValue("scope") != "hooks.write hooks.read" || r.PostFormValue("audience") != "https://api.example" {
			t.Errorf("token request: %s %s %v", id, secret, r.PostForm)
		}
		if ts.fail.Load() {
			// An endpoint that echoes what it was sent, as some do.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"bad secret %s"}`, secret)
			return
		}
		if ts.hold != nil {
			<-ts.hold
		}
		n := ts.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("access-token-%d", n), "token_type": "Bearer", "expires_in": 120})
	}))
	t.Cleanup(ts.Close)
	return ts
}

// receiver accepts bearer tokens not in revoked, and records each one.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []string
	revoked map[string]bool
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{revoked: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.seen = append(rc.seen, tok)
		if rc.revoked[tok] {
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Fprintf(w, `{"echo":%q}`, r.Header.Get("Authorization"))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) revoke(tok string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.revoked[tok] = true
}

func (rc *receiver) last() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[len(rc.seen)-1]
}

func oauthWebhook(endpoint, tokenURL string) *models.Webhook {
	return &models.Webhook{ID: "w-oauth", Name: "oauth", WebhookType: models.WebhookGeneric, Endpoint: endpoint, TimeoutSeconds: 5,
		Auth: &models.ReceiverAuth{Type: models.AuthOAuth2, TokenURL: tokenURL, ClientID: oauthClientID, ClientSecret: oauthClientSecret,
			Scopes: []string{"hooks.write", "hooks.read"}, Audience: "https://api.example"}}
}

func postOnce(p *Poster, wh *models.Webhook) attempt.Result {
	return p.Post(context.Background(), Request{Webhook: wh, Event: &models.Event{ID: "evt-1", Type: "t", Timestamp: time.Now()},
		Attempt: 1, Trigger: models.TriggerScheduled})
}

func TestOAuth2TokenCachedRefreshedAndReplacedOn401(t *testing.T) {
	ts, rc := newTokenServer(t), newReceiver(t)
	var skew atomic.Int64
	p := &Poster{Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}), Version: "test",
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }}
	wh := oauthWebhook(rc.URL, ts.URL)
	expect := func(step string, fetches int32, token string) {
		t.Helper()
		res := postOnce(p, wh)
		if res.Outcome != attempt.Success || ts.fetches.Load() != fetches || rc.last() != token {
			t.Fatalf("%s: %s %+v; fetches %d (want %d), receiver saw %q (want %q)", step, res.Outcome, res.Attempt,
				ts.fetches.Load(), fetches, rc.last(), token)
		}
		if res.Attempt.RequestHeaders["Authorization"] != "********" || strings.Contains(res.Attempt.ResponseBody, token) {
			t.Fatalf("%s: the token shows in the attempt: %+v", step, res.Attempt)
		}
	}
	expect("first attempt", 1, "access-token-1")
	expect("cached", 1, "access-token-1")
	skew.Store(int64(100 * time.Second)) // 20 s left: under the 30 s margin
	expect("near expiry", 2, "access-token-2")
	skew.Store(0) // access-token-2 is fresh again
	rc.revoke("access-token-2")
	expect("401: replaced once and sent again", 3, "access-token-3")

	// A receiver that refuses every token: one refresh, then the 401 is
	// the attempt's answer (retried on the schedule).
	rc.revoke("access-token-3")
	rc.revoke("access-token-4")
	if res := postOnce(p, wh); res.Outcome != attempt.Failure || res.Attempt.StatusCode != 401 || ts.fetches.Load() != 4 {
		t.Fatalf("refused twice: %s %+v, fetches %d", res.Outcome, res.Attempt, ts.fetches.Load())
	}
	// Another webhook with the same configuration has a token of its own.
	changed := oauthWebhook(rc.URL, ts.URL)
	changed.ID = "w-other"
	if res := postOnce(p, changed); res.Outcome != attempt.Success || ts.fetches.Load() != 5 || rc.last() != "access-token-5" {
		t.Fatalf("another webhook shares no token: %s, fetches %d, saw %q", res.Outcome, ts.fetches.Load(), rc.last())
	}
}

// TestOAuth2ConcurrentAttemptsShareOneFetch: attempts of one webhook that
// start together wait for one token fetch; after a 401 for all of them,
// one refresh serves them all.
func TestOAuth2ConcurrentAttemptsShareOneFetch(t *testing.T) {
	ts, rc := newTokenServer(t), newReceiver(t)
	ts.hold = make(chan struct{})
	p := &Poster{Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}), Version: "test", Now: time.Now}
	wh := oauthWebhook(rc.URL, ts.URL)
	const n = 16
	run := func() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if res := postOnce(p, wh); res.Outcome != attempt.Success {
					t.Errorf("attempt: %s %+v", res.Outcome, res.Attempt)
				}
			})
		}
		// While the first fetch is held, the other attempts queue behind
		// it; without sharing, each would fetch its own token.
		time.Sleep(100 * time.Millisecond)
		close(ts.hold)
		wg.Wait()
	}
	run()
	if got := ts.fetches.Load(); got != 1 {
		t.Fatalf("%d concurrent attempts made %d token fetches, want 1", n, got)
	}
	rc.revoke("access-token-1")
	ts.hold = make(chan struct{})
	run()
	if got := ts.fetches.Load(); got != 2 {
		t.Fatalf("%d concurrent 401s made %d refreshes, want 1", n, got-1)
	}
}

// TestOAuth2TokenEndpointFailure: a token endpoint that refuses is a failed
// attempt, recorded without the client secret (even when the endpoint
// echoes it) and retried on the schedule; the receiver is not called.
func TestOAuth2TokenEndpointFailure(t *testing.T) {
	ts, rc := newTokenServer(t), newReceiver(t)
	ts.fail.Store(true)
	p := &Poster{Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}), Version: "test", Now: time.Now}
	res := postOnce(p, oauthWebhook(rc.URL, ts.URL))
	if res.Outcome != attempt.Failure || !strings.Contains(res.Attempt.Error, "oauth2 token") || !strings.Contains(res.Attempt.Error, "invalid_client") {
		t.Fatalf("token refused: %s %+v", res.Outcome, res.Attempt)
	}
	// What the activity returns is what Temporal stores in the history.
	payload, _ := json.Marshal(res)
	if strings.Contains(string(payload), oauthClientSecret) {
		t.Fatalf("the client secret is in the attempt: %s", payload)
	}
	if len(rc.seen) != 0 {
		t.Fatal("the receiver was called without a token")
	}

	// The token URL passes the delivery client's address checks: without
	// ALLOW_PRIVATE_ENDPOINTS a loopback token endpoint is refused, final.
	ts.fail.Store(false)
	strict := &Poster{Client: safehttp.NewClient(safehttp.Options{}), Version: "test", Now: time.Now}
	res = postOnce(strict, oauthWebhook("https://receiver.example/hooks", ts.URL))
	if res.Outcome != attempt.Rejected || ts.fetches.Load() != 0 || !strings.Contains(res.Attempt.Error, "oauth2 token") {
		t.Fatalf("loopback token URL: %s %+v, fetches %d", res.Outcome, res.Attempt, ts.fetches.Load())
	}
}

// TestOAuth2EchoedSecretScrubbedAsSent: a token endpoint that refuses and
// echoes its request (the Basic header and the form, as request
// inspectors do) shows the client secret encoded as sent; the attempt
// records neither form.
func TestOAuth2EchoedSecretScrubbedAsSent(t *testing.T) {
	const secret = "s3cret+with/sp&ce=and%chars" // form-encoding changes it
	var basic, form atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if h := r.Header.Get("Authorization"); h != "" {
			basic.Store(strings.TrimPrefix(h, "Basic "))
		} else {
			form.Store(string(raw))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"got %s with %s"}`, r.Header.Get("Authorization"), raw)
	}))
	t.Cleanup(ts.Close)
	rc := newReceiver(t)
	wh := oauthWebhook(rc.URL, ts.URL)
	wh.Auth.ClientSecret = secret
	p := &Poster{Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}), Version: "test", Now: time.Now}
	res := postOnce(p, wh)
	if res.Outcome != attempt.Failure || !strings.Contains(res.Attempt.Error, "invalid_client") {
		t.Fatalf("token refused: %s %+v", res.Outcome, res.Attempt)
	}
	b, _ := basic.Load().(string)
	f, _ := form.Load().(string)
	if b == "" || !strings.Contains(f, "client_secret=") {
		t.Fatalf("control: the endpoint saw the secret in the header (%q) and in the form (%q)", b, f)
	}
	encoded := url.QueryEscape(secret)
	if encoded == secret || !strings.Contains(f, encoded) {
		t.Fatalf("control: the form holds the secret encoded (%q): %q", encoded, f)
	}
	got, _ := json.Marshal(res)
	for what, v := range map[string]string{"plain": secret, "form-encoded": encoded, "Basic": b} {
		if strings.Contains(string(got), v) {
			t.Errorf("the %s client secret is in the attempt: %s", what, got)
		}
	}
}
