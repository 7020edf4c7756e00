package rig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Neighbours is a noisy-neighbour run: tenant "noisy" has Backlog events
// pending for a webhook whose receiver answers after Delay (a Delay past
// the webhook's 5 s timeout makes every attempt time out); tenant "quiet"
// then posts Quiet events, one every Every, to a receiver that answers at
// once. Backlog 0 is the idle baseline.
type Neighbours struct {
	Backlog int
	// Webhooks spreads the backlog over this many webhooks of tenant
	// noisy, all to the same receiver (0: one).
	Webhooks int
	Delay    time.Duration
	Quiet    int
	Every    time.Duration
}

// NeighboursResult is what the quiet tenant saw.
type NeighboursResult struct {
	// Quiet are the quiet tenant's event → receiver latencies, sorted.
	Quiet []time.Duration
	// Admitted are the quiet tenant's outbox waits (ingest → start),
	// sorted: the rest of Quiet is Temporal's and the worker's.
	Admitted []time.Duration
	// Stages are the quiet tenant's latencies split along the path, each
	// sorted: where the time goes (see Stages).
	Stages map[string][]time.Duration
	// NoisyPeak is the most requests the noisy receiver had in flight at
	// once.
	NoisyPeak int64
	// NoisyDone counts the noisy receiver's answered requests when the
	// quiet tenant's last event arrived.
	NoisyDone int64
}

// P is the q-quantile of the quiet tenant's latencies.
func (r NeighboursResult) P(q float64) time.Duration { return quantile(r.Quiet, q) }

// quantile is the q-quantile of sorted ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*q))]
}

// AdmittedP is the q-quantile of the quiet tenant's outbox waits.
func (r NeighboursResult) AdmittedP(q float64) time.Duration { return quantile(r.Admitted, q) }

// RunNeighbours runs n on st and waits (up to within) for every quiet
// event to arrive.
func (st *Stack) RunNeighbours(n Neighbours, within time.Duration) NeighboursResult {
	st.t.Helper()
	var noisyDone, noisyIn, noisyPeak atomic.Int64
	noisy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := noisyIn.Add(1)
		defer noisyIn.Add(-1)
		for peak := noisyPeak.Load(); in > peak && !noisyPeak.CompareAndSwap(peak, in); peak = noisyPeak.Load() {
		}
		select {
		case <-time.After(n.Delay):
			noisyDone.Add(1)
		case <-r.Context().Done():
		}
	}))
	st.t.Cleanup(noisy.Close)
	st.t.Cleanup(noisy.CloseClientConnections) // runs first: no handler keeps Close waiting
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
	)
	quiet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var env struct {
			ID string `json:"id"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &env)
		mu.Lock()
		if _, ok := arrived[env.ID]; !ok {
			arrived[env.ID] = now
		}
		mu.Unlock()
	}))
	st.t.Cleanup(quiet.Close)
	for i := range max(n.Webhooks, 1) {
		st.CreateTenantWebhook("noisy", fmt.Sprintf("slow-%d", i), fmt.Sprintf("noise.%d", i), noisy.URL)
	}
	st.CreateTenantWebhook("quiet", "fast", "tick.*", quiet.URL)

	// The backlog, from 8 producers.
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			for i := p; i < n.Backlog; i += 8 {
				st.PostTenantEvent("noisy", fmt.Sprintf("noise-%d", i), fmt.Sprintf("noise.%d", i%max(n.Webhooks, 1)))
			}
		})
	}
	wg.Wait()

	sent := map[string]time.Time{}
	tick := time.NewTicker(n.Every)
	defer tick.Stop()
	for i := range n.Quiet {
		id := fmt.Sprintf("tick-%d", i)
		sent[id] = time.Now()
		st.PostTenantEvent("quiet", id, "tick.tock")
		<-tick.C
	}
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		if got == n.Quiet {
			break
		}
		if time.Now().After(deadline) {
			st.t.Fatalf("%d of %d quiet events arrived within %v", got, n.Quiet, within)
		}
	}
	res := NeighboursResult{NoisyDone: noisyDone.Load(), NoisyPeak: noisyPeak.Load()}
	mu.Lock()
	for id, at := range arrived {
		res.Quiet = append(res.Quiet, at.Sub(sent[id]))
	}
	mu.Unlock()
	slices.Sort(res.Quiet)
	ds, err := st.Store.ListDeliveries(context.Background(), store.DeliveryQuery{TenantID: "quiet", Limit: n.Quiet})
	if err != nil {
		st.t.Fatal(err)
	}
	for _, d := range ds {
		if d.DispatchedAt != nil {
			res.Admitted = append(res.Admitted, d.DispatchedAt.Sub(d.CreatedAt))
		}
	}
	slices.Sort(res.Admitted)
	res.Stages = st.stages(ds, arrived)
	return res
}

// StageNames are the steps of a delivery's path, in order: event accepted
// → claimed by the starter (outbox), → workflow started (the start call),
// → first workflow task picked up (Temporal's task queue, worker slots),
// → request begun (the send local activity: loading, limits), → request
// arrived at the receiver.
var StageNames = []string{"outbox", "start", "queue", "send", "post"}

// stages splits each delivery's latency along StageNames, from the
// delivery row, its workflow's history and its first attempt.
func (st *Stack) stages(ds []models.Delivery, arrived map[string]time.Time) map[string][]time.Duration {
	ctx := context.Background()
	out := map[string][]time.Duration{}
	for _, d := range ds {
		if d.DispatchedAt == nil {
			continue
		}
		started, picked := FirstWorkflowTask(ctx, st.Client, d.ID)
		as, err := st.Store.Attempts(ctx, d.ID)
		if err != nil || len(as) == 0 || started.IsZero() || picked.IsZero() {
			continue
		}
		at, ok := arrived[d.EventID]
		if !ok {
			continue
		}
		for i, v := range []time.Duration{d.DispatchedAt.Sub(d.CreatedAt), started.Sub(*d.DispatchedAt),
			picked.Sub(started), as[0].StartedAt.Sub(picked), at.Sub(as[0].StartedAt)} {
			out[StageNames[i]] = append(out[StageNames[i]], v)
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// FirstWorkflowTask reads from a delivery's workflow history when it
// started and when a worker picked up its first workflow task.
func FirstWorkflowTask(ctx context.Context, c client.Client, deliveryID string) (started, picked time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflows.DeliveryWorkflowID(deliveryID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() && picked.IsZero() {
		ev, err := it.Next()
		if err != nil {
			break
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			started = ev.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			picked = ev.GetEventTime().AsTime()
		}
	}
	return started, picked
}
