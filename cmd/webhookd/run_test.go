package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/workflows"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects the output of run, which writes from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type devProcess struct {
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
	api    string
	ui     string
}

// startDev runs `webhookd dev` in-process with its own ports and data dir.
func startDev(t *testing.T, env map[string]string) *devProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &devProcess{cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}, api: env["HTTP_ADDR"], ui: env["TEMPORAL_UI_ADDR"]}
	go func() { p.done <- run(ctx, []string{"dev"}, func(k string) string { return env[k] }, p.out, p.out) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("webhookd dev exited with %v\n%s", err, p.out)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("webhookd dev did not stop within 60s\n%s", p.out)
	}
}

func devEnv(t *testing.T, dataDir string) map[string]string {
	return map[string]string{
		"DATA_DIR": dataDir, "HTTP_ADDR": freeAddr(t), "TEMPORAL_ADDRESS": freeAddr(t),
		"TEMPORAL_UI_ADDR": freeAddr(t), "LOG_LEVEL": "warn",
	}
}

func waitReady(t *testing.T, p *devProcess) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("webhookd dev exited early: %v\n%s", err, p.out)
		default:
		}
		resp, err := client.Get("http://" + p.api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("/readyz never went green\n%s", p.out)
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDevZeroSetup starts `webhookd dev` with nothing but a data dir: the
// embedded Temporal server, its Web UI, the SQLite database, the worker and
// the API come up and /readyz goes green; state survives a restart.
func TestDevZeroSetup(t *testing.T) {
	dataDir := t.TempDir()
	env := devEnv(t, dataDir)
	p := startDev(t, env)
	waitReady(t, p)

	if code, body := httpDo(t, "GET", "http://"+p.ui+"/", ""); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("Temporal Web UI at %s: %d", p.ui, code)
	}
	hook := `{"name":"dev-hook","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"http://127.0.0.1:9/x"}}`
	if code, body := httpDo(t, "POST", "http://"+p.api+"/api/v1/webhooks", hook); code != 201 {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	if !strings.Contains(p.out.String(), "webhookd dev is up") {
		t.Fatalf("no start-up banner:\n%s", p.out)
	}
	// The maintenance schedules and search attributes exist (Web UI: Schedules).
	c, err := client.Dial(client.Options{HostPort: env["TEMPORAL_ADDRESS"], Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, id := range runner.ScheduleIDs(workflows.DefaultTaskQueue) {
		if _, err := c.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background()); err != nil {
			t.Fatalf("schedule %s: %v", id, err)
		}
	}
	// A tenant token minted now must still work after the restart: the
	// signing key is kept in the data dir.
	code, body := httpDo(t, "POST", "http://"+p.api+"/api/v1/tenants/acme/tokens", `{"ttlSeconds":3600}`)
	if code != 201 {
		t.Fatalf("mint tenant token: %d %s", code, body)
	}
	var minted struct{ Token string }
	if err := json.Unmarshal([]byte(body), &minted); err != nil || minted.Token == "" {
		t.Fatalf("token answer %s: %v", body, err)
	}
	if st, err := os.Stat(filepath.Join(dataDir, "tenant-token.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("tenant-token.key: %v %v", st, err)
	}
	p.stop(t)

	// Same data dir, new ports: the webhook (and Temporal's state) is still there.
	env2 := devEnv(t, dataDir)
	p2 := startDev(t, env2)
	waitReady(t, p2)
	if code, body := httpDo(t, "GET", "http://"+p2.api+"/api/v1/webhooks/name/dev-hook", ""); code != 200 {
		t.Fatalf("webhook lost across restart: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", "http://"+p2.api+"/api/v1/webhooks", nil)
	req.Header.Set("Authorization", "Bearer "+minted.Token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a tenant token from before the restart: %d", resp.StatusCode)
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	ctx := context.Background()
	none := func(string) string { return "" }
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "no command"},
		{[]string{"serve"}, nil, "unknown command"},
		{[]string{"api"}, nil, "DATABASE_URL"},
		{[]string{"api"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db"}, "API_TOKEN"},
		{[]string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "RETENTION_DAYS": "-1"}, "RETENTION_DAYS"},
		{[]string{"dev", "extra"}, nil, "no arguments"},
		{[]string{"probe"}, nil, "usage"},
	}
	for _, c := range cases {
		getenv := none
		if c.env != nil {
			getenv = func(k string) string { return c.env[k] }
		}
		err := run(ctx, c.args, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"version"}, none, &out, io.Discard); err != nil || !strings.Contains(out.String(), version) {
		t.Fatalf("version: %v %q", err, out.String())
	}
}

func TestAPIRefusesSchemaBehind(t *testing.T) {
	// A database that was never migrated: api must refuse to start.
	env := map[string]string{"DATABASE_URL": emptyPostgres(t), "API_TOKEN": "t", "TEMPORAL_ADDRESS": freeAddr(t), "ENCRYPTION_KEYS": testEncryptionKeys}
	err := run(context.Background(), []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "webhookd migrate") {
		t.Fatalf("want a schema-behind error, got %v", err)
	}
}
