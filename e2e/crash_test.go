package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// crashRig is webhookd in production shape for crash tests: a Temporal
// server and `webhookd worker` in the test process, a migrated PostgreSQL
// database, and `webhookd api` as a separate OS process that the test can
// SIGKILL. Every listener is on a free port.
type crashRig struct {
	t            *testing.T
	temporal     *devserver.Server
	temporalOpts devserver.Options
	env          map[string]string
	store        *store.Store
	dispatch     *dispatch.Dispatcher
	worker       *rig.Process
	api          *rig.Process
	children     []*rig.Process // worker processes of startWorker
	client       *http.Client
}

func newCrashRig(t *testing.T) *crashRig {
	t.Helper()
	// Temporal keeps its state in a file, so that it can be stopped and
	// started again (TestTemporalOutage).
	opts := devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", SearchAttributes: runner.SearchAttributeTypes(),
		DatabaseFile: filepath.Join(t.TempDir(), "temporal.db"),
		Logger:       slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError,
	}
	ts, err := devserver.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.FrontendAddr = ts.FrontendAddr()
	r := &crashRig{t: t, temporal: ts, temporalOpts: opts, client: &http.Client{Timeout: 10 * time.Second}, env: rig.Env(t)}
	// Stops last: the worker and the api stop first.
	t.Cleanup(func() {
		if r.temporal != nil {
			r.temporal.Stop()
		}
	})
	maps.Copy(r.env, map[string]string{
		"DATABASE_URL": storetest.PostgresURL(t), "TEMPORAL_ADDRESS": ts.FrontendAddr(), "API_TOKEN": "crash-token",
		"ALLOW_PRIVATE_ENDPOINTS": "true",
		// The api is the process these tests kill, and the one that starts
		// the deliveries (the same starter runs in the workers by default).
		"OUTBOX_STARTER": "api",
	})
	if err := app.Run(context.Background(), []string{"migrate"}, func(k string) string { return r.env[k] }, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// The worker lives in the test process: only the api process dies. Its
	// metrics server answering means it started (a port in use fails here).
	r.worker = rig.Start(t, r.env, "worker")
	r.worker.WaitReady(t, "http://"+r.env["METRICS_ADDR"]+"/readyz", 30*time.Second)
	s, err := store.Open(context.Background(), r.env["DATABASE_URL"], slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r.store = s
	c, err := app.DialTemporal(context.Background(), config.Config{TemporalAddress: ts.FrontendAddr(), TemporalNamespace: "default"},
		slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r.dispatch = dispatch.New(s, runner.New(c, "webhooks"), ingest.NewMatcher(s, 0), slog.New(slog.DiscardHandler))
	return r
}

func (r *crashRig) stopTemporal() {
	r.temporal.Stop()
	r.temporal = nil
}

func (r *crashRig) startTemporal() {
	r.t.Helper()
	ts, err := devserver.Start(context.Background(), r.temporalOpts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.temporal = ts
}

// startAPI starts `webhookd api` as a child process, with extra variables
// (NAME=value), and waits until it is ready.
func (r *crashRig) startAPI(extra ...string) {
	r.t.Helper()
	r.api = rig.StartChild(r.t, r.childEnv(extra), "api")
	r.api.WaitReady(r.t, "http://"+r.env["HTTP_ADDR"]+"/readyz", 30*time.Second)
}

// startWorker starts `webhookd worker` as a child process (metrics on a
// port of its own), with extra variables (NAME=value), and waits until it
// is ready.
func (r *crashRig) startWorker(extra ...string) *rig.Process {
	r.t.Helper()
	env := r.childEnv(append([]string{"METRICS_ADDR=" + rig.FreeAddr(r.t)}, extra...))
	w := rig.StartChild(r.t, env, "worker")
	w.WaitReady(r.t, "http://"+env["METRICS_ADDR"]+"/readyz", 30*time.Second)
	r.children = append(r.children, w)
	return w
}

// childEnv is the rig's environment with extra variables (NAME=value).
func (r *crashRig) childEnv(extra []string) map[string]string {
	env := maps.Clone(r.env)
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// kill SIGKILLs the api process: no shutdown, no flush, no deferred code.
func (r *crashRig) kill() {
	r.t.Helper()
	r.api.Kill(r.t)
}

// alive fails the test at once if the worker, the api or a worker of
// startWorker that was not killed ended by itself.
func (r *crashRig) alive() {
	r.t.Helper()
	r.worker.Alive(r.t)
	if r.api != nil {
		r.api.Alive(r.t)
	}
	for _, w := range r.children {
		w.Alive(r.t)
	}
}

// createCatchAll creates a webhook for every event type, to endpoint.
func (r *crashRig) createCatchAll(name, endpoint string) {
	r.t.Helper()
	if code, body := r.call("POST", "/api/v1/webhooks", `{"name":"`+name+`","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"`+endpoint+`"}}`); code != 201 {
		r.t.Fatalf("create: %d %s", code, body)
	}
}

func (r *crashRig) call(method, path, body string) (int, string) {
	code, b, _ := r.callHeader(method, path, body)
	return code, b
}

// callHeader is call with the response's headers.
func (r *crashRig) callHeader(method, path, body string) (int, string, http.Header) {
	req, _ := http.NewRequest(method, "http://"+r.env["HTTP_ADDR"]+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.env["API_TOKEN"])
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// waitAll waits until the receiver has every event id, running the
// reconciler as its schedule would (with a short threshold), since a claim
// cut short by the kill is the reconciler's to finish.
func (r *crashRig) waitAll(rc *idReceiver, ids []string, within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.alive()
		missing := 0
		for _, id := range ids {
			if !rc.has(id) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d of %d accepted events never reached the receiver:\n%s", missing, len(ids), r.describeMissing(rc, ids))
		}
		if _, err := r.dispatch.Reconcile(context.Background(), 2*time.Second); err != nil {
			r.t.Logf("reconcile: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// describeMissing lists up to 10 undelivered events with their deliveries'
// state, to tell a lost event from a stuck one.
func (r *crashRig) describeMissing(rc *idReceiver, ids []string) string {
	var b strings.Builder
	n := 0
	for _, id := range ids {
		if rc.has(id) || n == 10 {
			continue
		}
		n++
		ds, err := r.store.EventDeliveries(context.Background(), models.DefaultTenant, id)
		fmt.Fprintf(&b, "  %s: %d deliveries %v", id, len(ds), err)
		for _, d := range ds {
			fmt.Fprintf(&b, " [%s status=%s attempts=%d starts=%d dispatched=%v]", d.ID, d.Status, d.AttemptCount, d.Starts, d.DispatchedAt)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// idReceiver records which X-Webhook-IDs arrived.
type idReceiver struct {
	mu   sync.Mutex
	seen map[string]int
	url  string
}

func newIDReceiver(t *testing.T) *idReceiver {
	rc := &idReceiver{seen: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		rc.mu.Lock()
		rc.seen[req.Header.Get("X-Webhook-ID")]++
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// count is how many distinct ids arrived.
func (rc *idReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

func (rc *idReceiver) has(id string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[id] > 0
}

// TestCrashBetweenCommitAndStartLosesNothing: events accepted by an api
// process whose starter cannot start them yet (its admission window is full)
// are only in the database when the process is SIGKILLed; a new api process
// delivers every one.
func TestCrashBetweenCommitAndStartLosesNothing(t *testing.T) {
	r := newCrashRig(t)
	rc := newIDReceiver(t)
	r.startAPI()
	r.createCatchAll("crash", rc.url)
	r.kill()
	// A delivery that looks started and never attempted fills a window of
	// one: the next api process accepts events but starts none of them.
	blocker := r.block(t)
	r.startAPI("START_WINDOW=1")
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("evt-commit-%02d", i)
		if code, body := r.call("POST", "/api/v1/events", `{"id":"`+id+`","type":"order.created"}`); code != 202 {
			t.Fatalf("ingest %s: %d %s", id, code, body)
		}
		ids = append(ids, id)
	}
	time.Sleep(300 * time.Millisecond)
	for _, id := range ids {
		if rc.has(id) {
			t.Fatalf("%s was delivered although the window was full", id)
		}
	}
	if n, err := r.store.CountUndispatched(context.Background()); err != nil || n != 40 {
		t.Fatalf("outbox before the kill = %d %v, want 40", n, err)
	}
	r.kill()
	// The blocker's attempt "begins": the window is free again.
	if err := r.store.MarkDelivering(context.Background(), blocker); err != nil {
		t.Fatal(err)
	}
	r.startAPI()
	r.waitAll(rc, ids, 60*time.Second)
}

// TestCrashMidBurstLosesNothing: 16 producers post a burst; the api process
// is SIGKILLed in the middle of it and started again; every event that was
// answered 202 is delivered.
func TestCrashMidBurstLosesNothing(t *testing.T) {
	r := newCrashRig(t)
	rc := newIDReceiver(t)
	r.startAPI()
	r.createCatchAll("burst", rc.url)
	acc := &accepted{}
	before := r.burstKilling(acc, "evt-burst-a", 400, 150, r.kill)
	r.startAPI()
	r.burst(acc, "evt-burst-b", 100)
	t.Logf("accepted %d events before the kill (of 400 posted), %d in all", before, acc.count())
	if before < 150 || before == 400 {
		t.Fatalf("the kill did not land mid-burst (%d accepted before it)", before)
	}
	r.waitAll(rc, acc.all(), 90*time.Second)
}

// TestCrashOfAStartingWorkerLosesNothing: under the default OUTBOX_STARTER
// (auto) an api without a worker of its own leaves the starts to the
// workers; the `webhookd worker` process starting them is SIGKILLed while
// it starts a burst's deliveries, and another takes its place; every event that
// was answered 202 is delivered. (The rig's in-process worker runs
// workflow tasks and starts nothing.)
func TestCrashOfAStartingWorkerLosesNothing(t *testing.T) {
	r := newCrashRig(t)
	rc := newIDReceiver(t)
	r.startAPI("OUTBOX_STARTER=auto")
	r.createCatchAll("burst", rc.url)
	w := r.startWorker("OUTBOX_STARTER=auto")
	acc := &accepted{}
	var deliveredBefore int
	var starting, delivering, waiting int64
	// Killed once a good part of the burst is in and the worker has
	// delivered some of it (within 10 s: before the api's backstop, which
	// waits 15 s, could have started any).
	atKill := r.burstKilling(acc, "evt-wburst", 400, 150, func() {
		for deadline := time.Now().Add(10 * time.Second); rc.count() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		deliveredBefore = rc.count()
		w.Kill(t)
		ctx := context.Background()
		starting, _ = r.store.CountStarting(ctx)
		delivering, _ = r.store.CountByStatus(ctx, models.DeliveryDelivering)
		waiting, _ = r.store.CountUndispatched(ctx)
	})
	if deliveredBefore == 0 {
		t.Fatal("nothing delivered within 10 s: the worker was not starting deliveries")
	}
	r.startWorker("OUTBOX_STARTER=auto")
	t.Logf("at the worker's kill: %d events accepted, %d delivered, %d deliveries started and not attempted, %d attempts in flight, %d in the outbox; %d accepted in all",
		atKill, deliveredBefore, starting, delivering, waiting, acc.count())
	r.waitAll(rc, acc.all(), 90*time.Second)
}

// accepted collects the ids of events answered 202.
type accepted struct {
	mu  sync.Mutex
	ids []string
}

func (a *accepted) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, id)
}

func (a *accepted) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

func (a *accepted) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ids)
}

// burstKilling posts a burst of n events (burst) and calls kill on the
// test's goroutine once at least killAt of them are accepted; it returns
// how many were accepted then, once the burst has ended.
func (r *crashRig) burstKilling(acc *accepted, prefix string, n, killAt int, kill func()) int {
	r.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.burst(acc, prefix, n)
	}()
	for acc.count() < killAt {
		select {
		case <-done:
			r.t.Fatalf("the burst ended with %d of %d accepted, before the kill at %d", acc.count(), n, killAt)
		case <-time.After(time.Millisecond):
		}
	}
	kill()
	atKill := acc.count()
	<-done
	return atKill
}

// burst posts n events (prefix-000, ...) from 16 producers and adds those
// answered 202 to acc.
func (r *crashRig) burst(acc *accepted, prefix string, n int) {
	var wg sync.WaitGroup
	ids := make(chan string)
	for range 16 {
		wg.Go(func() {
			for id := range ids {
				if code, _ := r.call("POST", "/api/v1/events", `{"id":"`+id+`","type":"order.created"}`); code == 202 {
					acc.add(id)
				}
			}
		})
	}
	for i := range n {
		ids <- fmt.Sprintf("%s-%03d", prefix, i)
	}
	close(ids)
	wg.Wait()
}

// block stores a delivery that looks handed to Temporal and never attempted.
func (r *crashRig) block(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	hooks, err := r.store.ActiveWebhooks(ctx, models.DefaultTenant)
	if err != nil || len(hooks) == 0 {
		t.Fatalf("webhooks: %v %v", hooks, err)
	}
	now := store.Now()
	ev := &models.Event{ID: "evt-blocker", Type: "blocker", Timestamp: now, CreatedAt: now}
	d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: hooks[0].ID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: models.TriggerScheduled, DispatchedAt: &now, CreatedAt: now, UpdatedAt: now}
	if _, _, _, err := r.store.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// TestTemporalOutageDoesNotFailIngest: while the Temporal server is down,
// the api still accepts events (they wait in the database); once it is back,
// every one is delivered.
func TestTemporalOutageDoesNotFailIngest(t *testing.T) {
	r := newCrashRig(t)
	rc := newIDReceiver(t)
	r.startAPI()
	r.createCatchAll("outage", rc.url)
	r.stopTemporal()
	var ids []string
	for i := range 30 {
		id := fmt.Sprintf("evt-outage-%02d", i)
		start := time.Now()
		code, body := r.call("POST", "/api/v1/events", `{"id":"`+id+`","type":"order.created"}`)
		if code != 202 {
			t.Fatalf("ingest during the outage: %d %s", code, body)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("ingest waited %v on the absent Temporal server", took)
		}
		ids = append(ids, id)
	}
	// Not ready (Temporal is down), and the backlog shows: all 30 wait,
	// but for those the starter holds while it tries to start them.
	code, body := r.call("GET", "/readyz", "")
	var ready struct {
		StartBacklog int `json:"startBacklog"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 503 || ready.StartBacklog < 30-claimBatchForTests {
		t.Fatalf("readyz during the outage = %d %s", code, body)
	}
	r.startTemporal()
	back := time.Now()
	r.waitAll(rc, ids, 60*time.Second)
	t.Logf("all %d delivered %v after Temporal came back", len(ids), time.Since(back))
}

// claimBatchForTests bounds how many deliveries a starter holds at once
// while it tries to start them (with Temporal down, one failing start).
const claimBatchForTests = 16
