package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/e2e/rig"
)

// pathStages are the steps of a first delivery's path, in order: the
// producer's post until the event is stored (ingest), → claimed by a
// starter (outbox), → its workflow started (the start call), → its first
// workflow task picked up by a worker (Temporal's queue), → the request
// begun (the send: loading, the gate, the tenant's share, the limiter and
// any wait for a limit), → the request at the receiver (post). An eager
// start's first workflow task is handed out inside the start call, before
// the call has stored the workflow and answered: the rest of that call
// shows in send (on a saturated server most of it; see
// docs/performance.md, "The adaptive start window").
var pathStages = []string{"ingest", "outbox", "start", "queue", "send", "post"}

// stagedDelivery is one delivery's path split into pathStages.
type stagedDelivery struct {
	id, event         string
	total             time.Duration
	stages            []time.Duration
	dispatched, tried time.Time
}

// logStages logs where tenant's deliveries spent their time, from the
// delivery rows, their workflows' histories and the receiver's arrivals:
// p50, p99 and max of each of pathStages, then the path and the history's
// story (waitStory) of the slowest few. Clocks: the producer's, the api's,
// the Temporal server's, the worker's; one machine's here.
func logStages(ctx context.Context, b *testing.B, c client.Client, dbURL, tenant string, sent, arrived map[string]time.Time, slowest int) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	type row struct {
		id, event                  string
		created, dispatched, tried time.Time
	}
	var rows []row
	queryDB(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		rs, _ := conn.Query(ctx, `SELECT d.id, d.event_id, d.created_at, d.dispatched_at, a.started_at
			FROM deliveries d JOIN attempts a ON a.delivery_id = d.id AND a.number = 1
			WHERE d.tenant_id = $1 AND d.dispatched_at IS NOT NULL`, tenant)
		var err error
		rows, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.event, &x.created, &x.dispatched, &x.tried)
		})
		return err
	})
	var all []stagedDelivery
	for _, r := range rows {
		at, ok := arrived[r.event]
		posted, ok2 := sent[r.event]
		if !ok || !ok2 {
			continue
		}
		started, picked := rig.FirstWorkflowTask(ctx, c, r.id)
		if started.IsZero() || picked.IsZero() {
			continue
		}
		all = append(all, stagedDelivery{id: r.id, event: r.event, total: at.Sub(posted), dispatched: r.dispatched, tried: r.tried,
			stages: []time.Duration{r.created.Sub(posted), r.dispatched.Sub(r.created), started.Sub(r.dispatched),
				picked.Sub(started), r.tried.Sub(picked), at.Sub(r.tried)}})
	}
	if len(all) == 0 {
		b.Logf("stages of %s: no delivery to split", tenant)
		return
	}
	for i, name := range pathStages {
		ds := make([]time.Duration, 0, len(all))
		for _, d := range all {
			ds = append(ds, d.stages[i])
		}
		b.Logf("  %-7s p50 %7v  p99 %7v  max %7v", name, percentile(ds, 0.5).Round(time.Millisecond),
			percentile(ds, 0.99).Round(time.Millisecond), percentile(ds, 1).Round(time.Millisecond))
	}
	slices.SortFunc(all, func(x, y stagedDelivery) int { return cmp.Compare(y.total, x.total) })
	for _, d := range all[:min(slowest, len(all))] {
		parts := make([]string, len(pathStages))
		for i, name := range pathStages {
			parts[i] = fmt.Sprintf("%s %v", name, d.stages[i].Round(time.Millisecond))
		}
		b.Logf("  slow %s (delivery %s, claimed %s) took %v: %s; %s", d.event, d.id, d.dispatched.Format("15:04:05.000"),
			d.total.Round(time.Millisecond), strings.Join(parts, ", "),
			waitStory(ctx, c, d.id, d.dispatched, d.tried))
	}
}
