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
)

// Neighbours is a noisy-neighbour run: tenant "noisy" has Backlog events
// pending for a webhook whose receiver answers after Delay (a Delay past
// the webhook's 5 s timeout makes every attempt time out); tenant "quiet"
// then posts Quiet events, one every Every, to a receiver that answers at
// once. Backlog 0 is the idle baseline.
type Neighbours struct {
	Backlog int
	Delay   time.Duration
	Quiet   int
	Every   time.Duration
}

// NeighboursResult is what the quiet tenant saw.
type NeighboursResult struct {
	// Quiet are the quiet tenant's event → receiver latencies, sorted.
	Quiet []time.Duration
	// Admitted are the quiet tenant's outbox waits (ingest → start),
	// sorted: the rest of Quiet is Temporal's and the worker's.
	Admitted []time.Duration
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
	var noisyDone atomic.Int64
	noisy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	st.CreateTenantWebhook("noisy", "slow", "noise.*", noisy.URL)
	st.CreateTenantWebhook("quiet", "fast", "tick.*", quiet.URL)

	// The backlog, from 8 producers.
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			for i := p; i < n.Backlog; i += 8 {
				st.PostTenantEvent("noisy", fmt.Sprintf("noise-%d", i), "noise.made")
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
	res := NeighboursResult{NoisyDone: noisyDone.Load()}
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
	return res
}
