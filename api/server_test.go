package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/api"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/eventtypes"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/internal/webhooks"
)

type testAPI struct {
	t     *testing.T
	srv   *httptest.Server
	store *store.Store
	token string
	// dbURL is set on PostgreSQL, for storetest.Dump.
	dbURL string
	// runner is Temporal, faked; tests are the test sends, faked.
	runner  *dispatchtest.Runner
	tests   *fakeTester
	handler http.Handler
	// ingester is the real ingest (its matcher's counts are written with
	// WriteCounts).
	ingester *ingest.Ingester
}

// setup is what options change before the API is built.
type setup struct {
	deps         api.Deps
	allowPrivate bool
	// matcherMaxAge is how long the matcher trusts its cache without
	// asking the database (default: the process default, a second).
	matcherMaxAge time.Duration
	// log receives the API's and the store's logs (discarded by default).
	log io.Writer
	// maxWebhooks and eventsPerSecond are the tenant quotas (0: none).
	maxWebhooks, eventsPerSecond int
	// proxy, when set, receives the proxy PostgreSQL is reached through.
	proxy **storetest.Proxy
}

type option func(*setup)

func withToken(tok string) option           { return func(s *setup) { s.deps.APIToken = tok } }
func withTokens(ts api.TokenService) option { return func(s *setup) { s.deps.Tokens = ts } }
func withTemporal(err error) option         { return func(s *setup) { s.deps.Temporal = health{err} } }
func withPrivateEndpoints(b bool) option    { return func(s *setup) { s.allowPrivate = b } }
func withLog(w io.Writer) option            { return func(s *setup) { s.log = w } }
func withQuotas(webhooks, eventsPerSecond int) option {
	return func(s *setup) { s.maxWebhooks, s.eventsPerSecond = webhooks, eventsPerSecond }
}
func throughProxy(p **storetest.Proxy) option { return func(s *setup) { s.proxy = p } }
func withHosts(h api.HostRule) option         { return func(s *setup) { s.deps.Hosts = h } }
func withMatcherMaxAge(d time.Duration) option {
	return func(s *setup) { s.matcherMaxAge = d }
}

// newAPI builds the real router on the real ingest, webhooks service and
// dispatcher over a fresh database; only Temporal and the test sends (which
// post to receivers) are fakes.
func newAPI(t *testing.T, d store.Dialect, opts ...option) *testAPI {
	t.Helper()
	cfg := setup{allowPrivate: true, matcherMaxAge: ingest.DefaultMatcherMaxAge, log: io.Discard,
		deps: api.Deps{Metrics: prometheus.NewRegistry(), Temporal: health{}}}
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.log != io.Discard {
		log = slog.New(slog.NewTextHandler(cfg.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var (
		s     *store.Store
		dbURL string
	)
	if d == store.Postgres {
		dbURL = storetest.PostgresURL(t)
		url := dbURL
		if cfg.proxy != nil {
			*cfg.proxy = storetest.NewProxy(t, dbURL)
			url = (*cfg.proxy).URL(dbURL)
		}
		s = storetest.OpenURL(t, url, log)
	} else {
		s = storetest.OpenURL(t, storetest.SQLiteURL(t), log)
	}
	cfg.deps.Logger, cfg.deps.Store = log, s
	runner, tests := dispatchtest.New(), &fakeTester{store: s}
	matcher := ingest.NewMatcher(s, cfg.matcherMaxAge)
	disp := dispatch.New(s, runner, matcher, log)
	hooks := webhooks.New(s, matcher, disp)
	hooks.AllowPrivate, hooks.MaxPerTenant = cfg.allowPrivate, cfg.maxWebhooks
	in := ingest.New(s, matcher, disp)
	in.EventsPerSecond = cfg.eventsPerSecond
	deps := cfg.deps
	deps.Ingester, deps.Webhooks, deps.Dispatcher = in, hooks, dispatcher{disp, tests}
	deps.EventTypes = eventtypes.New(s)
	h, err := api.NewServer(deps)
	if err != nil {
		t.Fatal(err)
	}
	a := &testAPI{t: t, store: s, token: deps.APIToken, dbURL: dbURL, runner: runner, tests: tests, handler: h, ingester: in}
	// Every exchange is checked against openapi.json (openapi_test.go),
	// and reported to the test that made it.
	a.srv = httptest.NewServer(conform(func() *testing.T { return a.t }, mustContract(t), h))
	t.Cleanup(a.srv.Close)
	return a
}

type response struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// errorMessage returns the message of an {code, message} error body.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	code, _ := m["code"].(string)
	msg, _ := m["message"].(string)
	if code == "" || msg == "" || len(m) != 2 {
		t.Fatalf("error body is not {code, message}: %s", r.Body)
	}
	return msg
}

func (a *testAPI) do(method, path string, body any, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

func TestNewServerFailsFastOnMissingDependency(t *testing.T) {
	_, err := api.NewServer(api.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "Store") {
		t.Fatalf("want an error naming the missing Store, got %v", err)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	a := newAPI(t, store.Postgres)
	if r := a.do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz = %d", r.Status)
	}
	if r := a.do("GET", "/readyz", nil); r.Status != 200 {
		t.Fatalf("readyz = %d %s", r.Status, r.Body)
	}
	down := newAPI(t, store.Postgres, withTemporal(errors.New("connection refused")))
	r := down.do("GET", "/readyz", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "connection refused") {
		t.Fatalf("readyz with Temporal down = %d %s", r.Status, r.Body)
	}
	// Made-up methods on unknown paths share one label value.
	for _, m := range []string{"X0", "X1", "X2"} {
		a.do(m, "/no-such-path", nil)
	}
	r = a.do("GET", "/metrics", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "webhookd_api_request_duration_seconds") {
		t.Fatalf("metrics = %d", r.Status)
	}
	if body := string(r.Body); strings.Contains(body, `method="X1"`) || !strings.Contains(body, `method="OTHER"`) {
		t.Fatal("metrics: a client's made-up method became a label value")
	}
}

func TestAuth(t *testing.T) {
	a := newAPI(t, store.Postgres, withToken("s3cret-token"))
	if r := a.do("GET", "/api/v1/webhooks", nil); r.Status != 200 {
		t.Fatalf("with the token: %d %s", r.Status, r.Body)
	}
	status := func(a *testAPI, hdr string) int {
		req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/webhooks", nil)
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		resp, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, hdr := range []string{"", "Bearer ", "Bearer wrong", "Basic czNjcmV0LXRva2Vu", "Bearer s3cret-token-and-more"} {
		if got := status(a, hdr); got != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", hdr, got)
		}
	}
	// Liveness stays open for orchestrators.
	req, _ := http.NewRequest("GET", a.srv.URL+"/healthz", nil)
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz without token = %d", resp.StatusCode)
	}
	open := newAPI(t, store.Postgres)
	if r := open.do("GET", "/api/v1/webhooks", nil); r.Status != 200 {
		t.Fatalf("no token configured: %d", r.Status)
	}
	// "Bearer $API_TOKEN" with the variable unset is no credential, as
	// against webhookd dev; a token that is not one is still refused.
	if got := status(open, "Bearer "); got != http.StatusOK {
		t.Errorf("no token configured, empty bearer token: %d, want 200", got)
	}
	if got := status(open, "Bearer wrong"); got != http.StatusUnauthorized {
		t.Errorf("no token configured, Bearer wrong: %d, want 401", got)
	}
}

func inspect(t *testing.T, a *testAPI) *storetest.Inspector {
	t.Helper()
	if a.dbURL == "" {
		t.Fatal("inspecting rows needs PostgreSQL")
	}
	return storetest.Inspect(t, a.dbURL)
}
