package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/webhookd/webhookd/workflows"
)

// prodRig is a real Temporal server (namespace default) and a migrated,
// empty PostgreSQL database, for running the production commands in-process.
type prodRig struct {
	env    map[string]string
	client client.Client
}

func newProdRig(t *testing.T) *prodRig {
	t.Helper()
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError,
		SearchAttributes: runner.SearchAttributeTypes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	c, err := client.Dial(client.Options{HostPort: ts.FrontendAddr(), Logger: rig.QuietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &prodRig{client: c, env: map[string]string{
		"DATABASE_URL": storetest.EmptyPostgresURL(t), "TEMPORAL_ADDRESS": ts.FrontendAddr(), "API_TOKEN": "t", "ENCRYPTION_KEYS": rig.EncryptionKeys,
		"HTTP_ADDR": rig.FreeAddr(t), "METRICS_ADDR": rig.FreeAddr(t), "LOG_LEVEL": "info",
	}}
	return r
}

// run runs command with the rig's environment plus extra, and returns its
// error and what it logged.
func (r *prodRig) run(ctx context.Context, command string, extra ...string) (string, error) {
	env := map[string]string{}
	for k, v := range r.env {
		env[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	out := &rig.SyncBuffer{}
	err := app.Run(ctx, []string{command}, func(k string) string { return env[k] }, out, out)
	return out.String(), err
}

func (r *prodRig) migrate(t *testing.T) {
	t.Helper()
	if out, err := r.run(context.Background(), "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
}

// TestMissingNamespaceFailsClearly: api and worker refuse to start, naming
// TEMPORAL_NAMESPACE, when the namespace does not exist (api used to start
// and report ready); and a running api's /readyz turns 503, naming it, when
// its namespace is deleted.
func TestMissingNamespaceFailsClearly(t *testing.T) {
	r := newProdRig(t)
	r.migrate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, command := range []string{"api", "worker"} {
		out, err := r.run(ctx, command, "TEMPORAL_NAMESPACE", "missing")
		if err == nil || !strings.Contains(err.Error(), "TEMPORAL_NAMESPACE") || !strings.Contains(err.Error(), `"missing"`) {
			t.Errorf("%s with a missing namespace: %v\n%s", command, err, out)
		}
	}

	// A namespace that exists at start-up and is deleted later.
	const ns = "doomed"
	if _, err := r.client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	apiCtx, stopAPI := context.WithCancel(ctx)
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		// migrate registers the search attributes and schedules the
		// deliveries of this namespace use, then the api serves.
		if out, err = r.run(apiCtx, "migrate", "TEMPORAL_NAMESPACE", ns); err == nil {
			out, err = r.run(apiCtx, "api", "TEMPORAL_NAMESPACE", ns)
		}
		done <- err
	}()
	defer func() {
		stopAPI()
		if err := <-done; err != nil {
			t.Errorf("api: %v\n%s", err, out)
		}
	}()
	readyz := "http://" + r.env["HTTP_ADDR"] + "/readyz"
	waitFor(t, done, readyz, func(code int, _ string) bool { return code == 200 }, "ready")
	if _, err := r.client.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, done, readyz, func(code int, body string) bool {
		return code == 503 && strings.Contains(body, "TEMPORAL_NAMESPACE")
	}, "503 naming TEMPORAL_NAMESPACE")
}

// waitFor polls url until ok says yes (up to 60s: the frontend's namespace
// cache takes a few seconds to see a deletion), failing at once if the
// command behind it ends.
func waitFor(t *testing.T, done <-chan error, url string, ok func(int, string) bool, what string) {
	t.Helper()
	var code int
	var body string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the command ended while waiting for %s: %v", what, err)
		default:
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code, body = resp.StatusCode, string(b)
			if ok(code, body) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s never answered %s; last %d %s", url, what, code, body)
}

// TestPortInUseIsTheOnlyComplaint: when a command's port is taken, the
// error names it and nothing else runs first: no worker starts (and then
// logs its own complaints as it is stopped), no WARN or ERROR line comes
// before the real cause, and dev does not print its banner.
func TestPortInUseIsTheOnlyComplaint(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()
	r := newProdRig(t)
	r.migrate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []struct {
		command string
		env     []string
		names   string
	}{
		{"api", []string{"HTTP_ADDR", busy, "API_WORKER", "true"}, "HTTP_ADDR"},
		{"worker", []string{"METRICS_ADDR", busy}, "METRICS_ADDR"},
		{"dev", []string{"HTTP_ADDR", busy, "DATA_DIR", t.TempDir(), "TEMPORAL_ADDRESS", rig.FreeAddr(t), "TEMPORAL_UI_ADDR", rig.FreeAddr(t)}, "HTTP_ADDR"},
	} {
		out, err := r.run(ctx, c.command, c.env...)
		if err == nil || !strings.Contains(err.Error(), busy) || !strings.Contains(err.Error(), c.names) {
			t.Errorf("%s with %s in use: error %v, want one naming %s and %s", c.command, c.names, err, busy, c.names)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "Started Worker") ||
				strings.Contains(line, "is up") {
				t.Errorf("%s with %s in use: before the error it printed\n%s", c.command, c.names, out)
				break
			}
		}
	}
}

// TestMigrateReplacesPreviousReleaseSchedules: upgrading in place, migrate
// removes the fixed-id schedules of the previous release that targeted this
// deployment's task queue, creates the deployment's own, and says so.
func TestMigrateReplacesPreviousReleaseSchedules(t *testing.T) {
	r := newProdRig(t)
	ctx := context.Background()
	for id, wf := range map[string]string{workflows.ReconcileSchedule: workflows.ReconcileWorkflow, workflows.RetentionSchedule: workflows.RetentionWorkflow} {
		if _, err := r.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: id, Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}}, Paused: true,
			Action: &client.ScheduleWorkflowAction{ID: id, Workflow: wf, TaskQueue: workflows.DefaultTaskQueue},
		}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := r.run(ctx, "migrate")
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	for _, id := range []string{workflows.ReconcileSchedule, workflows.RetentionSchedule} {
		if _, err := r.client.ScheduleClient().GetHandle(ctx, id).Describe(ctx); err == nil {
			t.Errorf("the previous release's schedule %s is still there", id)
		}
	}
	for _, id := range runner.ScheduleIDs(workflows.DefaultTaskQueue) {
		if _, err := r.client.ScheduleClient().GetHandle(ctx, id).Describe(ctx); err != nil {
			t.Errorf("schedule %s: %v", id, err)
		}
	}
	if strings.Count(out, "removed a previous release's schedule") != 2 {
		t.Errorf("migrate does not say what it replaced:\n%s", out)
	}
}

// TestDevBannerAndRoot: the dev banner points at the console, and the
// server's root sends a browser there.
func TestDevBannerAndRoot(t *testing.T) {
	env := rig.DevEnv(t, t.TempDir())
	p := rig.StartDev(t, env)
	p.Ready(t)
	base := "http://" + env["HTTP_ADDR"]
	for _, want := range []string{base + "/console/", base + "/api/v1", "http://" + env["TEMPORAL_UI_ADDR"]} {
		if !strings.Contains(p.Out.String(), want) {
			t.Errorf("the banner does not show %s:\n%s", want, p.Out)
		}
	}
	noRedirect := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("GET / = %d %q, want a redirect to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
