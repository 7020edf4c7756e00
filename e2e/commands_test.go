package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// TestProductionCommands runs `migrate`, then `api` and `worker` as separate
// commands (as docker-compose does) against a Temporal server that has none
// of webhookd's search attributes yet and an empty PostgreSQL database, and
// delivers an event through them (by default the workers start the
// deliveries: the api runs no worker); then again with the api starting
// them (OUTBOX_STARTER=api), with the worker alone set to api, and as the
// compose file runs them (API_WORKER=true: both start).
func TestProductionCommands(t *testing.T) {
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop) // after the commands stop
	env := rig.Env(t)
	maps.Copy(env, map[string]string{
		"DATABASE_URL": storetest.EmptyPostgresURL(t), "TEMPORAL_ADDRESS": ts.FrontendAddr(), "API_TOKEN": "prod-token",
		"ALLOW_PRIVATE_ENDPOINTS": "true", "LOG_LEVEL": "info", // for the lines that say who starts deliveries
	})
	getenv := func(k string) string { return env[k] }
	out := &rig.SyncBuffer{}

	if err := app.Run(context.Background(), []string{"worker"}, getenv, io.Discard, out); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("worker on an unmigrated database: %v", err)
	}
	if err := app.Run(context.Background(), []string{"migrate"}, getenv, io.Discard, out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if err := app.Run(context.Background(), []string{"migrate"}, getenv, io.Discard, out); err != nil {
		t.Fatalf("migrate again must be a no-op: %v", err)
	}

	// Each on its own free ports; each must come up (a port in use fails
	// here, at once) and stop cleanly at the end.
	worker := rig.Start(t, env, "worker")
	api := rig.Start(t, env, "api")
	worker.WaitReady(t, "http://"+env["METRICS_ADDR"]+"/readyz", 30*time.Second)
	api.WaitReady(t, "http://"+env["HTTP_ADDR"]+"/readyz", 30*time.Second)

	base := "http://" + env["HTTP_ADDR"]
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer prod-token")
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	rc := rig.NewRecorder(t, rig.Always(200))
	if code, body := call("POST", "/api/v1/webhooks", `{"name":"prod","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"`+rc.URL+`"}}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	code, body := call("POST", "/api/v1/events", `{"id":"evt-prod","type":"order.created"}`)
	if code != 202 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	// By default (OUTBOX_STARTER=auto) an api without a worker leaves the
	// starts to the workers: within 12 s, before the api's backstop (a 15 s
	// wait) could have started it.
	rc.WaitHits(t, 1, 12*time.Second)
	startsDeliveries(t, worker, true)
	startsDeliveries(t, api, false)
	if rc.Get(0).Header.Get("X-Webhook-ID") != "evt-prod" {
		t.Fatalf("delivered %v", rc.Get(0).Header)
	}
	// Recorded before the processes stop: stopped between the request and
	// its record, a worker's successor would send it again (at least once).
	recorded := func(ingestAnswer string) {
		t.Helper()
		var ingested struct {
			Deliveries []struct{ ID string } `json:"deliveries"`
		}
		if err := json.Unmarshal([]byte(ingestAnswer), &ingested); err != nil || len(ingested.Deliveries) != 1 {
			t.Fatalf("ingest answer %s: %v", ingestAnswer, err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, got := call("GET", "/api/v1/deliveries/"+ingested.Deliveries[0].ID, "")
			if strings.Contains(got, `"status":"succeeded"`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery not recorded as succeeded within 20 s: %s", got)
			}
		}
	}
	recorded(body)

	// The same deployment switched to OUTBOX_STARTER=api, one process
	// after the other: the api starts the deliveries (not eagerly: it runs
	// no worker), and the worker, no longer starting any, delivers them.
	api.Stop(t)
	worker.Stop(t)
	env["OUTBOX_STARTER"] = "api"
	worker = rig.Start(t, env, "worker")
	api = rig.Start(t, env, "api")
	worker.WaitReady(t, "http://"+env["METRICS_ADDR"]+"/readyz", 30*time.Second)
	api.WaitReady(t, "http://"+env["HTTP_ADDR"]+"/readyz", 30*time.Second)
	code, body = call("POST", "/api/v1/events", `{"id":"evt-prod-2","type":"order.created"}`)
	if code != 202 {
		t.Fatalf("ingest with OUTBOX_STARTER=api: %d %s", code, body)
	}
	rc.WaitHits(t, 2, 20*time.Second)
	startsDeliveries(t, worker, false)
	startsDeliveries(t, api, true)
	if rc.Count() != 2 || rc.Get(1).Header.Get("X-Webhook-ID") != "evt-prod-2" {
		t.Fatalf("%d requests, the second %v", rc.Count(), rc.Get(1).Header)
	}
	recorded(body)

	// Set apart wrongly (the api back on the default, the worker still on
	// api): no worker starts, and the api's backstop still does: at its
	// first 15 s look after the delivery has waited 15 s.
	api.Stop(t)
	apiEnv := maps.Clone(env)
	delete(apiEnv, "OUTBOX_STARTER")
	api = rig.Start(t, apiEnv, "api")
	api.WaitReady(t, "http://"+env["HTTP_ADDR"]+"/readyz", 30*time.Second)
	code, body = call("POST", "/api/v1/events", `{"id":"evt-prod-3","type":"order.created"}`)
	if code != 202 {
		t.Fatalf("ingest with the settings mixed: %d %s", code, body)
	}
	rc.WaitHits(t, 3, 60*time.Second)
	if rc.Get(2).Header.Get("X-Webhook-ID") != "evt-prod-3" {
		t.Fatalf("the third request %v", rc.Get(2).Header)
	}
	recorded(body) // else the next phase's worker could send it again

	// As the compose file runs them (API_WORKER=true, both on the
	// default): the api and the worker both start deliveries, sharing the
	// outbox, and none is sent twice.
	api.Stop(t)
	worker.Stop(t)
	workerEnv := maps.Clone(apiEnv)
	apiEnv["API_WORKER"] = "true"
	worker = rig.Start(t, workerEnv, "worker")
	api = rig.Start(t, apiEnv, "api")
	worker.WaitReady(t, "http://"+env["METRICS_ADDR"]+"/readyz", 30*time.Second)
	api.WaitReady(t, "http://"+env["HTTP_ADDR"]+"/readyz", 30*time.Second)
	startsDeliveries(t, worker, true)
	startsDeliveries(t, api, true)
	for i := range 20 {
		if code, body := call("POST", "/api/v1/events", fmt.Sprintf(`{"id":"evt-both-%02d","type":"order.created"}`, i)); code != 202 {
			t.Fatalf("ingest with both starting: %d %s", code, body)
		}
	}
	rc.WaitHits(t, 23, 20*time.Second)
	time.Sleep(time.Second) // room for a second request, were one started twice
	seen := map[string]int{}
	for i := 3; i < rc.Count(); i++ {
		seen[rc.Get(i).Header.Get("X-Webhook-ID")]++
	}
	if rc.Count() != 23 || len(seen) != 20 {
		t.Fatalf("with both starting: %d requests for %d events, want 20 for 20: %v", rc.Count()-3, len(seen), seen)
	}
}

// startsDeliveries checks what a command's start-up line says of its
// outbox starter.
func startsDeliveries(t *testing.T, p *rig.Process, want bool) {
	t.Helper()
	out := p.Out.String()
	if !strings.Contains(out, fmt.Sprintf(`"starts_deliveries":%v`, want)) && !strings.Contains(out, fmt.Sprintf("starts_deliveries=%v", want)) {
		t.Fatalf("want starts_deliveries %v in the log:\n%s", want, out)
	}
}

// TestWorkerFatalErrorEndsTheProcess: when the worker cannot go on (here its
// namespace is deleted under it), `webhookd worker` exits non-zero instead
// of staying up and doing nothing. The SDK gives up on a missing namespace
// only after two minutes of polls, so the test waits beside the others.
func TestWorkerFatalErrorEndsTheProcess(t *testing.T) {
	st := rig.NewStack(t)
	ctx := context.Background()
	const ns = "doomed"
	if err := registerNamespace(ctx, st, ns); err != nil {
		t.Fatal(err)
	}
	worker := rig.StartChild(t, map[string]string{"DATABASE_URL": st.DBURL, "TEMPORAL_ADDRESS": st.Config.TemporalAddress,
		"TEMPORAL_NAMESPACE": ns, "ENCRYPTION_KEYS": rig.EncryptionKeys, "METRICS_ADDR": rig.FreeAddr(t), "LOG_LEVEL": "error",
		"OUTBOX_STARTER": "api"}, "worker") // nothing of the stack's is started in ns
	time.Sleep(2 * time.Second) // polling
	select {
	case <-worker.Done():
		t.Fatalf("the worker exited before its namespace went: %v\n%s", worker.Err(), worker.Out)
	default:
	}
	if _, err := st.Client.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	// The wait runs while the package's other tests do (this file comes
	// early, and parallel tests resume after the sequential ones).
	t.Parallel()
	select {
	case <-worker.Done():
		var exit *exec.ExitError
		if err := worker.Err(); err == nil || !asExit(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("worker exit: %v\n%s", err, worker.Out)
		}
		if !strings.Contains(worker.Out.String(), "temporal worker stopped") {
			t.Fatalf("the worker's last words do not say why:\n%s", worker.Out)
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("the worker is still up 4 minutes after its namespace was deleted\n%s", worker.Out)
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// registerNamespace creates a namespace and waits until the frontend
// serves it (its namespace cache may take a moment).
func registerNamespace(ctx context.Context, st *rig.Stack, ns string) error {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: st.Config.TemporalAddress, Logger: rig.QuietSDKLogger()})
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := st.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err == nil {
			// A worker refuses a namespace without webhookd's search attributes.
			return runner.EnsureSearchAttributes(ctx, st.Client, ns)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
