package rig

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// Stack is webhookd assembled in-process from the parts the commands use
// (app.Parts), against a real Temporal server (in memory, on a free port)
// and a fresh database, with the handles tests need: the store, the
// Temporal client, the dispatcher, the worker (to stop and start again).
type Stack struct {
	t      testing.TB
	Config config.Config
	Store  *store.Store
	// DBURL is the PostgreSQL database's URL (empty on SQLite).
	DBURL      string
	Client     client.Client
	Parts      *app.Parts
	Dispatcher *dispatch.Dispatcher
	Worker     worker.Worker
	// API serves the REST API (and the console) on a free port.
	API     *httptest.Server
	metrics *app.Metrics
}

// Options tune NewStackWith; zero values take the defaults.
type Options struct {
	// RetryDelays replace every delivery's retry schedule (the API takes
	// waits of 10s or more), so that tests of retries take moments.
	RetryDelays []time.Duration
	// TemporalFile keeps Temporal's state in a SQLite file (WAL), as
	// `webhookd dev` does; empty keeps it in memory.
	TemporalFile string
	// SQLiteStore keeps webhookd's state in SQLite, as `webhookd dev` does
	// without DATABASE_URL; PostgreSQL otherwise.
	SQLiteStore bool
	// StartWindow and StartParallel set the starter's admission window
	// (default `webhookd dev`'s, config.DevStartWindow) and concurrent starts.
	StartWindow, StartParallel int
	// StoreURL opens (and migrates) this database instead of a fresh one.
	StoreURL string
	// NoFairness turns the Temporal server's task-queue fairness off.
	NoFairness bool
	// WorkerConcurrency sets WORKER_CONCURRENCY (default 64).
	WorkerConcurrency int
	// APIToken and TenantKey turn on the admin token and tenant tokens
	// (the API is open and tenant tokens are off without them).
	APIToken, TenantKey string
	// Tracer records webhookd's spans (tracing is off without one).
	Tracer trace.TracerProvider
	// InlineFanout lowers the fan-out past which an event's deliveries
	// are planned and stored by the starter (ingest.Ingester).
	InlineFanout int
}

// NewStack is NewStackWith retry waits of retryDelays (the default schedule
// without).
func NewStack(tb testing.TB, retryDelays ...time.Duration) *Stack {
	tb.Helper()
	return NewStackWith(tb, Options{RetryDelays: retryDelays})
}

// NewStackWith assembles a stack; everything stops when the test ends.
func NewStackWith(tb testing.TB, o Options) *Stack {
	tb.Helper()
	ctx := context.Background()
	logs := &SyncBuffer{}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("webhookd log:\n%s", logs)
		}
	})
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ts, err := devserver.Start(ctx, devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", SearchAttributes: runner.SearchAttributeTypes(),
		DatabaseFile: o.TemporalFile,
		Logger:       log, ServerLogLevel: slog.LevelError, NoFairness: o.NoFairness,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ts.Stop)
	cfg := config.Config{
		TemporalAddress: ts.FrontendAddr(), TemporalNamespace: "default", TaskQueue: "webhooks",
		AllowPrivateEndpoints: true, WorkerConcurrency: 64, RetentionDays: 7,
		APIToken: o.APIToken, Keyring: storetest.Keyring(tb), TemporalUIURL: "http://127.0.0.1:8233",
		StartWindow: cmp.Or(o.StartWindow, config.DevStartWindow),
	}
	if o.WorkerConcurrency > 0 {
		cfg.WorkerConcurrency = o.WorkerConcurrency
	}
	if o.TenantKey != "" {
		cfg.TenantTokenKeys = []string{o.TenantKey}
	}
	st := &Stack{t: tb, Config: cfg}
	switch {
	case o.StoreURL != "":
		if st.Store, err = app.OpenStore(ctx, o.StoreURL, log, true, storetest.Keyring(tb)); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Store.Close() })
	case o.SQLiteStore:
		st.Store = storetest.Open(tb, store.SQLite)
	default:
		st.Store, st.DBURL = storetest.OpenPostgres(tb)
	}
	if st.metrics, err = app.NewMetrics(log); err != nil {
		tb.Fatal(err)
	}
	if st.Client, err = app.DialTemporal(ctx, cfg, log, st.metrics); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Client.Close)
	var runs dispatch.Runner
	if len(o.RetryDelays) > 0 {
		runs = fixedSchedule{runner.New(st.Client, cfg.TaskQueue), o.RetryDelays}
	}
	st.Parts = app.NewParts(st.Store, st.Client, cfg, log, st.metrics, runs)
	st.Parts.Trace(o.Tracer)
	st.Parts.Ingester.InlineFanout = o.InlineFanout
	st.Dispatcher = st.Parts.Dispatcher
	st.StartWorker()
	starterCtx, stopStarter := context.WithCancel(context.Background())
	starter := st.Parts.NewStarter(dispatch.StarterOptions{Window: cfg.StartWindow, MinWindow: config.DefaultStartWindowMin, Parallel: o.StartParallel})
	starterDone := make(chan struct{})
	go func() { defer close(starterDone); starter.Run(starterCtx) }()
	tb.Cleanup(func() { stopStarter(); <-starterDone })
	h, err := st.Parts.NewAPI(app.APIOptions{
		GaugeMaxAge: 0, // always fresh in tests
		// A fast bulk-replay pace keeps the 500-entry test short.
		DLQPace: dispatch.DLQPace{PageSize: 100, Pause: 50 * time.Millisecond},
	})
	if err != nil {
		tb.Fatal(err)
	}
	st.API = httptest.NewServer(h)
	tb.Cleanup(st.API.Close)
	return st
}

// fixedSchedule starts every delivery with the same retry waits, in place
// of the webhook's schedule.
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

// StartWorker starts a worker (again, after Worker.Stop).
func (st *Stack) StartWorker() {
	st.t.Helper()
	w := st.Parts.NewWorker()
	if err := w.Start(); err != nil {
		st.t.Fatal(err)
	}
	st.Worker = w
	st.t.Cleanup(w.Stop)
}

// Call sends a JSON request to the API (with the admin token when there is
// one) and decodes the JSON answer into out.
func (st *Stack) Call(method, path string, body any, out any) int {
	st.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			st.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, st.API.URL+path, rd)
	if err != nil {
		st.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if st.Config.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+st.Config.APIToken)
	}
	resp, err := st.API.Client().Do(req)
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

// CreateWebhook creates a Generic webhook for order.* events and returns
// its id.
func (st *Stack) CreateWebhook(name, endpoint, secret string) string {
	st.t.Helper()
	var out map[string]any
	code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": name, "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": "order.*"}},
		"webhookConfig": map[string]any{"endpoint": endpoint, "secretKey": secret, "timeout": 5},
	}, &out)
	if code != 201 {
		st.t.Fatalf("create webhook: %d %v", code, out)
	}
	return out["id"].(string)
}

// CreateWebhookWith creates a Generic webhook for events of eventType (a
// glob) with the webhookConfig cfg, and returns its id.
func (st *Stack) CreateWebhookWith(name, eventType string, cfg map[string]any) string {
	st.t.Helper()
	var out map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"name": name, "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": eventType}}, "webhookConfig": cfg,
	}, &out); code != 201 {
		st.t.Fatalf("create webhook %s: %d %v", name, code, out)
	}
	return out["id"].(string)
}

// CreateTenantWebhook makes a webhook of tenant (as the admin) with one
// event filter and returns its id.
func (st *Stack) CreateTenantWebhook(tenant, name, filter, endpoint string) string {
	st.t.Helper()
	var out map[string]any
	code := st.Call("POST", "/api/v1/webhooks", map[string]any{
		"tenantId": tenant, "name": name, "webhookType": "Generic",
		"eventFilters":  []any{map[string]any{"eventType": filter}},
		"webhookConfig": map[string]any{"endpoint": endpoint, "timeout": 5},
	}, &out)
	if code != 201 {
		st.t.Fatalf("create webhook %s/%s: %d %v", tenant, name, code, out)
	}
	return out["id"].(string)
}

// PostTenantEvent posts an event of tenant (as the admin).
func (st *Stack) PostTenantEvent(tenant, id, typ string) Ingested {
	st.t.Helper()
	var out Ingested
	if code := st.Call("POST", "/api/v1/events", map[string]any{"tenantId": tenant, "id": id, "type": typ}, &out); code != 202 {
		st.t.Fatalf("post event %s/%s: %d %+v", tenant, id, code, out)
	}
	return out
}

// Ingested is the API's answer to an event.
type Ingested struct {
	ID         string `json:"id"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID string `json:"webhookId"`
	} `json:"deliveries"`
}

// PostEvent posts an event of the default tenant.
func (st *Stack) PostEvent(id, typ string) Ingested {
	st.t.Helper()
	var out Ingested
	if code := st.Call("POST", "/api/v1/events", map[string]any{"id": id, "type": typ, "data": map[string]any{"orderId": 42}}, &out); code != 202 {
		st.t.Fatalf("post event: %d %+v", code, out)
	}
	return out
}

// DeliveryDetail is the API's answer to GET /deliveries/{id}.
type DeliveryDetail struct {
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

// WaitDelivery polls the API until the delivery reaches status.
func (st *Stack) WaitDelivery(id, status string, within time.Duration) DeliveryDetail {
	st.t.Helper()
	deadline := time.Now().Add(within)
	var d DeliveryDetail
	for time.Now().Before(deadline) {
		d = DeliveryDetail{}
		st.Call("GET", "/api/v1/deliveries/"+id, nil, &d)
		if d.Status == status {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	st.t.Fatalf("delivery %s is %q after %v, want %q: %+v", id, d.Status, within, status, d)
	return d
}

// Webhook reads a webhook through the API.
func (st *Stack) Webhook(id string) map[string]any {
	var out map[string]any
	st.Call("GET", "/api/v1/webhooks/"+id, nil, &out)
	return out
}

// MetricFamilies scrapes the API's /metrics (the stack's API and worker
// share one registry).
func (st *Stack) MetricFamilies() map[string]*dto.MetricFamily {
	st.t.Helper()
	resp, err := st.API.Client().Get(st.API.URL + "/metrics")
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		st.t.Fatal(err)
	}
	return families
}
