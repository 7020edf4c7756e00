package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

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
		"DATABASE_URL": emptyPostgres(t), "TEMPORAL_ADDRESS": ts.FrontendAddr(), "API_TOKEN": "prod-token",
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
