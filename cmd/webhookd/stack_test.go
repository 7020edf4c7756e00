package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/webhookd/webhookd/api"
	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/internal/telemetry"
	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/workflows"
)

// stack is webhookd assembled from the same constructors the commands use,
// against a real in-memory Temporal server and a fresh PostgreSQL database,
// with handles tests need (stop a worker, shorten the retry schedule).
type stack struct {
	t          testing.TB
	cfg        config.Config
	log        *slog.Logger
	temporal   *devserver.Server
	store      *store.Store
	dbURL      string
	metrics    *processMetrics
	client     client.Client
	parts      *parts
	dispatcher *dispatch.Dispatcher
	worker     worker.Worker
	api        *httptest.Server
}

func newStack(t testing.TB, retryDelays ...time.Duration) *stack {
	t.Helper()
	return newStackWith(t, stackOptions{retryDelays: retryDelays})
}

type stackOptions struct {
	retryDelays []time.Duration
	// temporalFile keeps Temporal's state in a SQLite file (WAL), as
	// `webhookd dev` does; empty keeps it in memory.
	temporalFile string
	// sqliteStore keeps webhookd's state in SQLite, as `webhookd dev` does
	// without DATABASE_URL; PostgreSQL otherwise.
	sqliteStore bool
	// startWindow and startParallel set the starter's admission window
	// and concurrent starts (0: the defaults).
	startWindow, startParallel int
	// storeURL opens (and migrates) this database instead of a fresh one.
	storeURL string
	// apiToken and tenantKey turn on the admin token and tenant tokens
	// (the API is open and tenant tokens are off without them).
	apiToken, tenantKey string
}

func newStackWith(t testing.TB, o stackOptions) *stack {
	t.Helper()
	retryDelays := o.retryDelays
	ctx := context.Background()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("webhookd log:\n%s", logs)
		}
	})
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ts, err := devserver.Start(ctx, devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", SearchAttributes: runner.SearchAttributeTypes(),
		DatabaseFile: o.temporalFile,
		Logger:       log, ServerLogLevel: slog.LevelError,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	cfg := config.Config{
		TemporalAddress: ts.FrontendAddr(), TemporalNamespace: "default", TaskQueue: "webhooks",
		AllowPrivateEndpoints: true, WorkerConcurrency: 64, RetentionDays: 7,
		APIToken: o.apiToken, Keyring: storetest.Keyring(t), TemporalUIURL: "http://127.0.0.1:8233",
	}
	if o.tenantKey != "" {
		cfg.TenantTokenKeys = []string{o.tenantKey}
	}
	var (
		s     *store.Store
		dbURL string
	)
	switch {
	case o.storeURL != "":
		var err error
		if s, err = openStore(ctx, o.storeURL, log, true, storetest.Keyring(t)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
	case o.sqliteStore:
		s = storetest.Open(t, store.SQLite)
	default:
		s, dbURL = storetest.OpenPostgres(t)
	}
	metrics, err := newProcessMetrics(log)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialTemporal(ctx, cfg, log, metrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	st := &stack{t: t, cfg: cfg, log: log, temporal: ts, store: s, dbURL: dbURL, client: c, metrics: metrics}
	var runs dispatch.Runner
	if len(retryDelays) > 0 {
		runs = fixedSchedule{runner.New(c, cfg.TaskQueue), retryDelays}
	}
	st.parts = newParts(s, c, runs, cfg, log)
	st.dispatcher = st.parts.dispatcher
	st.startWorker()
	starterCtx, stopStarter := context.WithCancel(context.Background())
	starter := st.parts.newStarter(dispatch.StarterOptions{Window: o.startWindow, Parallel: o.startParallel})
	starterDone := make(chan struct{})
	go func() { defer close(starterDone); starter.Run(starterCtx) }()
	t.Cleanup(func() { stopStarter(); <-starterDone })
	// Always fresh in tests (the process default is a 15 s cache).
	if err := telemetry.RegisterDeliveryGauges(metrics.registry, s, 0); err != nil {
		t.Fatal(err)
	}
	deps := api.Deps{
		Logger: log, Store: s, Ingester: st.parts.ingester, Webhooks: st.parts.webhooks, Dispatcher: st.dispatcher,
		Temporal: st.parts.temporal, Metrics: metrics.registry, APIToken: cfg.APIToken, Console: consoleFor(cfg, log),
		// A fast bulk-replay pace keeps the 500-entry test short.
		DLQPace: dispatch.DLQPace{PageSize: 100, Pause: 50 * time.Millisecond},
	}
	if len(cfg.TenantTokenKeys) > 0 {
		if deps.Tokens, err = tenancy.NewTokens(nil, cfg.TenantTokenKeys...); err != nil {
			t.Fatal(err)
		}
	}
	h, err := api.NewServer(deps)
	if err != nil {
		t.Fatal(err)
	}
	st.api = httptest.NewServer(h)
	t.Cleanup(st.api.Close)
	return st
}

// fixedSchedule starts every delivery with the same retry waits, in place
// of the webhook's schedule (whose waits the API keeps at 10s or more), so
// that tests of retries take moments.
type fixedSchedule struct {
	dispatch.Runner
	delays []time.Duration
}

func (f fixedSchedule) Start(ctx context.Context, r dispatch.Run) error {
	if in, ok := r.Input.(workflows.DeliveryInput); ok {
		in.RetryDelays = f.delays
		r.Input = in
	}
	return f.Runner.Start(ctx, r)
}

func (st *stack) startWorker() {
	st.t.Helper()
	w := newWorker(st.client, st.store, st.parts, st.cfg, st.metrics)
	if err := w.Start(); err != nil {
		st.t.Fatal(err)
	}
	st.worker = w
	st.t.Cleanup(w.Stop)
}

// call sends a JSON request to the API and decodes the JSON answer.
func (st *stack) call(method, path string, body any, out any) int {
	st.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			st.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, st.api.URL+path, rd)
	if err != nil {
		st.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if st.cfg.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+st.cfg.APIToken)
	}
	resp, err := st.api.Client().Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			st.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

func (st *stack) createWebhook(name, endpoint, secret string) string {
	st.t.Helper()
	var out map[string]any
	code := st.call("POST", "/api/v1/webhooks", map[string]any{
		"name": name, "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": endpoint, "secretKey": secret, "timeout": 5},
	}, &out)
	if code != 201 {
		st.t.Fatalf("create webhook: %d %v", code, out)
	}
	return out["id"].(string)
}

type ingestAnswerT struct {
	ID         string `json:"id"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID string `json:"webhookId"`
	} `json:"deliveries"`
}

func (st *stack) postEvent(id, typ string) ingestAnswerT {
	st.t.Helper()
	var out ingestAnswerT
	if code := st.call("POST", "/api/v1/events", map[string]any{"id": id, "type": typ, "data": map[string]any{"orderId": 42}}, &out); code != 202 {
		st.t.Fatalf("post event: %d %+v", code, out)
	}
	return out
}

type deliveryDetailT struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Trigger    string `json:"trigger"`
	Attempts   int    `json:"attempts"`
	AttemptLog []struct {
		Number   int    `json:"number"`
		Trigger  string `json:"trigger"`
		Error    string `json:"error"`
		Response *struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	} `json:"attemptLog"`
}

// waitDelivery polls the API until the delivery reaches status.
func (st *stack) waitDelivery(id, status string, within time.Duration) deliveryDetailT {
	st.t.Helper()
	deadline := time.Now().Add(within)
	var d deliveryDetailT
	for time.Now().Before(deadline) {
		d = deliveryDetailT{}
		st.call("GET", "/api/v1/deliveries/"+id, nil, &d)
		if d.Status == status {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	st.t.Fatalf("delivery %s is %q after %v, want %q: %+v", id, d.Status, within, status, d)
	return d
}

func (st *stack) webhook(id string) map[string]any {
	var out map[string]any
	st.call("GET", "/api/v1/webhooks/"+id, nil, &out)
	return out
}

// recorder is a receiver whose answers a test scripts.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	answer   func(n int) int // status for the n-th request (1-based)
	hits     chan struct{}
}

type recorded struct {
	header http.Header
	body   []byte
	at     time.Time
}

func newRecorder(t testing.TB, answer func(n int) int) *recorder {
	r := &recorder{answer: answer, hits: make(chan struct{}, 10000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{header: req.Header.Clone(), body: b, at: time.Now()})
		n := len(r.requests)
		r.mu.Unlock()
		w.WriteHeader(r.answer(n))
		r.hits <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func (r *recorder) get(i int) recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[i]
}

func (r *recorder) waitHits(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for r.count() < n {
		select {
		case <-r.hits:
		case <-deadline:
			t.Fatalf("receiver got %d requests in %v, want %d", r.count(), within, n)
		}
	}
}

func always(code int) func(int) int { return func(int) int { return code } }
