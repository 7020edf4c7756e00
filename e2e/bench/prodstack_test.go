package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// prodStack is webhookd as users run it: `webhookd migrate`, then `api` and
// `worker` processes (as many of each as asked) against a Temporal server
// with PostgreSQL persistence, on a fresh database and task queue.
type prodStack struct {
	dbURL, token string
	// bases are the api processes' base URLs; a load balancer in front of
	// them is played by the producers, who take turns.
	bases   []string
	apis    []*rig.Process
	workers []*rig.Process
}

// startProd starts the stack. apiWorker is the api processes' API_WORKER
// ("true": they run a worker too, so their starts are eager). With
// WEBHOOKD_BENCH_PPROF=dir every process writes its CPU profile to
// dir/<label>-<api|worker>-<n>.pprof when the benchmark ends.
func startProd(b *testing.B, temporalAddr, label string, apis, workers int, apiWorker string) *prodStack {
	b.Helper()
	queue := "bench-" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	ps := &prodStack{dbURL: storetest.EmptyPostgresURL(b), token: "bench-token"}
	common := map[string]string{
		"DATABASE_URL": ps.dbURL, "TEMPORAL_ADDRESS": temporalAddr, "TEMPORAL_TASK_QUEUE": queue,
		"API_TOKEN": ps.token, "ALLOW_PRIVATE_ENDPOINTS": "true",
		// The bursts measure webhookd, not the tenant's event quota.
		"TENANT_EVENTS_PER_SECOND": "0",
		// auto (the default), api or worker: which processes start the
		// delivery workflows (docs/operations.md, "Running api and worker
		// apart"); api reproduces the rows measured before auto.
		"OUTBOX_STARTER": os.Getenv("WEBHOOKD_BENCH_OUTBOX_STARTER"),
	}
	// Each process listens on its own free ports (HTTP_ADDR, METRICS_ADDR).
	envOf := func(kind string, n int) map[string]string {
		env := rig.Env(b)
		maps.Copy(env, common)
		if dir := os.Getenv("WEBHOOKD_BENCH_PPROF"); dir != "" {
			env[rig.ChildCPUProfile] = filepath.Join(dir, fmt.Sprintf("%s-%s-%d.pprof", label, kind, n))
		}
		return env
	}
	migrate := envOf("migrate", 0)
	if err := app.Run(context.Background(), []string{"migrate"}, func(k string) string { return migrate[k] }, io.Discard, io.Discard); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	type ready struct {
		p   *rig.Process
		url string
	}
	var waits []ready
	for i := range apis {
		env := envOf("api", i+1)
		env["API_WORKER"] = apiWorker
		p := rig.StartChild(b, env, "api")
		ps.apis = append(ps.apis, p)
		ps.bases = append(ps.bases, "http://"+env["HTTP_ADDR"])
		waits = append(waits, ready{p, "http://" + env["HTTP_ADDR"] + "/readyz"})
	}
	for i := range workers {
		env := envOf("worker", i+1)
		p := rig.StartChild(b, env, "worker")
		ps.workers = append(ps.workers, p)
		waits = append(waits, ready{p, "http://" + env["METRICS_ADDR"] + "/readyz"})
	}
	for _, w := range waits {
		w.p.WaitReady(b, w.url, time.Minute)
	}
	// Stopped, not killed, at the end (this runs before StartChild's
	// kill): a CPU profile is written on the way out.
	b.Cleanup(func() {
		for _, p := range append(append([]*rig.Process(nil), ps.apis...), ps.workers...) {
			p.Stop(b)
		}
	})
	return ps
}

// webhook creates a webhook of tenant for events of typ (a filter) with
// the given extra webhookConfig fields (",\"maxConcurrency\":2").
func (ps *prodStack) webhook(b *testing.B, tenant, name, filter, endpoint, extra string) {
	b.Helper()
	postJSON(b, ps.bases[0]+"/api/v1/webhooks", ps.token, fmt.Sprintf(
		`{"tenantId":%q,"name":%q,"webhookType":"Generic","eventFilters":[{"eventType":%q}],"webhookConfig":{"endpoint":%q,"secretKey":%q,"timeout":10%s}}`,
		tenant, name, filter, endpoint, rig.Secret, extra), 201)
}
