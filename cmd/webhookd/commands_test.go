package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/webhookd/webhookd/internal/devserver"
)

// TestProductionCommands runs `migrate`, then `api` and `worker` as separate
// commands (as docker-compose does) against a Temporal server that has none
// of webhookd's search attributes yet and an empty PostgreSQL database, and
// delivers an event through them.
func TestProductionCommands(t *testing.T) {
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	env := map[string]string{
		"DATABASE_URL": emptyPostgres(t), "TEMPORAL_ADDRESS": ts.FrontendAddr(), "API_TOKEN": "prod-token", "ENCRYPTION_KEYS": testEncryptionKeys,
		"HTTP_ADDR": freeAddr(t), "ALLOW_PRIVATE_ENDPOINTS": "true", "LOG_LEVEL": "warn",
	}
	getenv := func(k string) string { return env[k] }
	out := &syncBuffer{}

	if err := run(context.Background(), []string{"worker"}, getenv, io.Discard, out); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("worker on an unmigrated database: %v", err)
	}
	if err := run(context.Background(), []string{"migrate"}, getenv, io.Discard, out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if err := run(context.Background(), []string{"migrate"}, getenv, io.Discard, out); err != nil {
		t.Fatalf("migrate again must be a no-op: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for _, cmd := range []string{"api", "worker"} {
		go func() { done <- run(ctx, []string{cmd}, getenv, io.Discard, out) }()
	}
	defer func() {
		cancel()
		for range 2 {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("command exited with %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("a command did not stop")
			}
		}
	}()

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
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := call("GET", "/readyz", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("api never became ready\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rc := newRecorder(t, always(200))
	if code, body := call("POST", "/api/v1/webhooks", `{"name":"prod","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"`+rc.URL+`"}}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := call("POST", "/api/v1/events", `{"id":"evt-prod","type":"order.created"}`); code != 202 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	rc.waitHits(t, 1, 20*time.Second)
	if rc.get(0).header.Get("X-Webhook-ID") != "evt-prod" {
		t.Fatalf("delivered %v", rc.get(0).header)
	}
}

// TestWorkerFatalErrorEndsTheProcess: when the worker cannot go on (here its
// namespace is deleted under it), `webhookd worker` exits non-zero instead
// of staying up and doing nothing. The SDK gives up on a missing namespace
// only after two minutes of polls, so the test waits beside the others.
func TestWorkerFatalErrorEndsTheProcess(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	const ns = "doomed"
	if err := registerNamespace(ctx, st, ns); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=worker", "DATABASE_URL="+st.dbURL, "TEMPORAL_ADDRESS="+st.cfg.TemporalAddress,
		"TEMPORAL_NAMESPACE="+ns, "ENCRYPTION_KEYS="+testEncryptionKeys, "METRICS_ADDR="+freeAddr(t), "LOG_LEVEL=error")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	time.Sleep(2 * time.Second) // polling
	select {
	case err := <-exited:
		t.Fatalf("the worker exited before its namespace went: %v\n%s", err, out)
	default:
	}
	if _, err := st.client.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	// The wait runs while the package's other tests do (this file comes
	// early, and parallel tests resume after the sequential ones).
	t.Parallel()
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if err == nil || !asExit(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("worker exit: %v\n%s", err, out)
		}
		if !strings.Contains(out.String(), "temporal worker stopped") {
			t.Fatalf("the worker's last words do not say why:\n%s", out)
		}
	case <-time.After(4 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the worker is still up 4 minutes after its namespace was deleted\n%s", out)
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
func registerNamespace(ctx context.Context, st *stack, ns string) error {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: st.cfg.TemporalAddress, Logger: quietSDKLogger()})
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
		_, err := st.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
