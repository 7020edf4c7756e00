package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// parkBulk parks n more deliveries of the default tenant's webhook without
// sending them through ingest and a first attempt, which on two cores runs
// at Temporal's pace (about 28 a second: an hour for 100,000). It leaves
// behind what a parked delivery leaves in both stores: webhookd's event and
// delivery rows (awaiting retry after one failed attempt, next attempt in
// 12 h), inserted 1,000 per transaction, and an open delivery workflow of
// the same id, input, search attributes and memo, started with a 12 h start
// delay, so that Temporal holds a durable timer for it, as for a workflow
// sleeping before its retry. What it lacks: each delivery's attempt row and
// the few history events of the first attempt, and the worker never saw
// these workflows (its cache holds at most WORKFLOW_CACHE_SIZE anyway).
// They are not terminated afterwards, on purpose: they live in st's own
// Temporal server, whose SQLite file is in the benchmark's temporary
// directory (removed with it), never on a shared server, and the restart
// that follows measures webhookd dev with them parked.
func parkBulk(b *testing.B, st *rig.Stack, webhookID, webhookName, eventType string, n int) {
	b.Helper()
	ctx := context.Background()
	const chunk = 1000
	var g errgroup.Group
	g.SetLimit(32) // concurrent starts: more only queue inside the server
	for from := 0; from < n; from += chunk {
		now := time.Now().UTC()
		next, code := now.Add(12*time.Hour), 500
		ins := make([]store.Ingestion, 0, chunk)
		for i := from; i < min(n, from+chunk); i++ {
			id := fmt.Sprintf("bulk-%07d", i)
			ins = append(ins, store.Ingestion{
				Event: &models.Event{TenantID: models.DefaultTenant, ID: id, Type: eventType, Data: json.RawMessage(`{}`), Timestamp: now, CreatedAt: now},
				Deliveries: []models.Delivery{{
					ID: uuid.Must(uuid.NewV7()).String(), TenantID: models.DefaultTenant, EventID: id, WebhookID: webhookID,
					EventType: eventType, Status: models.DeliveryAwaitingRetry, Trigger: models.TriggerScheduled,
					AttemptCount: 1, LastStatusCode: &code, LastError: "500 Internal Server Error", NextAttemptAt: &next,
					DispatchedAt: &now, Starts: 1, CreatedAt: now, UpdatedAt: now,
				}},
			})
		}
		stored, err := st.Store.IngestEvents(ctx, ins)
		if err != nil {
			b.Fatalf("bulk insert: %v", err)
		}
		for _, in := range stored {
			d := in.Deliveries[0]
			g.Go(func() error {
				_, err := st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: workflows.DeliveryWorkflowID(d.ID), TaskQueue: st.Config.TaskQueue,
					StartDelay: 12 * time.Hour,
					TypedSearchAttributes: temporal.NewSearchAttributes(
						workflows.TenantIDAttr.ValueSet(d.TenantID), workflows.WebhookIDAttr.ValueSet(d.WebhookID),
						workflows.EventTypeAttr.ValueSet(d.EventType),
						workflows.DeliveryStatusAttr.ValueSet(string(models.DeliveryAwaitingRetry)),
						workflows.DeliveryTriggerAttr.ValueSet(string(models.TriggerScheduled))),
					Memo:          map[string]any{"tenantId": d.TenantID, "webhookName": webhookName, "endpoint": "http://127.0.0.1"},
					StaticSummary: d.EventType + " → " + webhookName,
				}, workflows.DeliveryWorkflow, workflows.DeliveryInput{
					DeliveryID: d.ID, TenantID: d.TenantID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType,
					Trigger: d.Trigger, FirstAttempt: 2, RetriesUsed: 1,
				})
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatalf("bulk start: %v", err)
		}
	}
}

// pointWebhookAt sets the endpoint of the webhook named name (of the
// default tenant) to url.
func pointWebhookAt(b *testing.B, base, name, url string) {
	b.Helper()
	var w struct {
		ID string `json:"id"`
	}
	code, body := rig.HTTPDo(b, "GET", base+"/api/v1/webhooks/name/"+name, "")
	if err := json.Unmarshal([]byte(body), &w); code != 200 || err != nil {
		b.Fatalf("GET webhook %s: %d %s", name, code, body)
	}
	patch := fmt.Sprintf(`[{"op":"replace","path":"/webhookConfig/endpoint","value":%q}]`, url)
	if code, body := rig.HTTPDo(b, "PATCH", base+"/api/v1/webhooks/"+w.ID, patch); code != 200 {
		b.Fatalf("PATCH webhook %s: %d %s", name, code, body)
	}
}

// readKept reads the marker of a parked system kept in dir: how many are
// parked and when they were; ok is false when dir is "" or holds none.
func readKept(b *testing.B, dir string) (parked int, builtAt time.Time, ok bool) {
	b.Helper()
	if dir == "" {
		return 0, time.Time{}, false
	}
	mark, err := os.ReadFile(filepath.Join(dir, keptMarker))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, time.Time{}, false
	}
	var unix int64
	if err == nil {
		_, err = fmt.Sscan(string(mark), &parked, &unix)
	}
	if err != nil || parked <= 0 {
		b.Fatalf("%s: not a parked system's marker (%v); remove the dir to build a new one", filepath.Join(dir, keptMarker), err)
	}
	return parked, time.Unix(unix, 0), true
}

// writeKept replaces what dir holds with a copy of the stopped system in
// dataDir, the marker written last: a copy cut short is not taken for a
// parked system, and no file of an earlier copy (a WAL) is left beside it.
func writeKept(b *testing.B, dir, dataDir string, parked int) {
	b.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "*.db*"))
	for _, f := range append(old, filepath.Join(dir, keptMarker)) {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.Fatal(err)
		}
	}
	copyDir(b, dataDir, dir)
	mark := fmt.Sprintln(parked, time.Now().Unix())
	if err := os.WriteFile(filepath.Join(dir, keptMarker), []byte(mark), 0o644); err != nil {
		b.Fatal(err)
	}
}

// copyDir copies the regular files of src (a stopped system's data
// directory: SQLite files with their WAL) into dst.
func copyDir(b *testing.B, src, dst string) {
	b.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err == nil {
			_, err = io.Copy(out, in)
			err = errors.Join(err, out.Close())
		}
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
