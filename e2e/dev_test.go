package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/workflows"
)

// TestDevZeroSetup starts `webhookd dev` with nothing but a data dir: the
// embedded Temporal server, its Web UI, the SQLite database, the worker and
// the API come up and /readyz goes green; state survives a restart.
func TestDevZeroSetup(t *testing.T) {
	dataDir := t.TempDir()
	env := rig.DevEnv(t, dataDir)
	p := rig.StartDev(t, env)
	p.Ready(t)

	if code, body := rig.HTTPDo(t, "GET", "http://"+p.UI+"/", ""); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("Temporal Web UI at %s: %d", p.UI, code)
	}
	hook := `{"name":"dev-hook","webhookType":"Generic","eventFilters":[{"eventType":"*"}],"webhookConfig":{"endpoint":"http://127.0.0.1:9/x"}}`
	if code, body := rig.HTTPDo(t, "POST", "http://"+p.API+"/api/v1/webhooks", hook); code != 201 {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	if !strings.Contains(p.Out.String(), "webhookd dev is up") {
		t.Fatalf("no start-up banner:\n%s", p.Out)
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
	code, body := rig.HTTPDo(t, "POST", "http://"+p.API+"/api/v1/tenants/acme/tokens", `{"ttlSeconds":3600}`)
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
	p.Stop(t)

	// Same data dir, new ports: the webhook (and Temporal's state) is still there.
	env2 := rig.DevEnv(t, dataDir)
	p2 := rig.StartDev(t, env2)
	p2.Ready(t)
	if code, body := rig.HTTPDo(t, "GET", "http://"+p2.API+"/api/v1/webhooks/name/dev-hook", ""); code != 200 {
		t.Fatalf("webhook lost across restart: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", "http://"+p2.API+"/api/v1/webhooks", nil)
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
		err := app.Run(ctx, c.args, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := app.Run(ctx, []string{"version"}, none, &out, io.Discard); err != nil || !strings.Contains(out.String(), app.Version) {
		t.Fatalf("version: %v %q", err, out.String())
	}
}

func TestAPIRefusesSchemaBehind(t *testing.T) {
	// A database that was never migrated: api must refuse to start.
	// rig.Env gives every listener a free port: CI holds the default ones.
	env := rig.Env(t)
	env["DATABASE_URL"], env["API_TOKEN"] = storetest.EmptyPostgresURL(t), "t"
	err := app.Run(context.Background(), []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "webhookd migrate") {
		t.Fatalf("want a schema-behind error, got %v", err)
	}
}
