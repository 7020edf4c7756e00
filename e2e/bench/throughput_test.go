package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BenchmarkDeliveryThroughput compares webhookd with the naive baseline
// (one plain workflow per delivery calling one regular activity that
// POSTs) in one run, on one Temporal dev server (SQLite, WAL) and one
// receiver. It reports deliveries/s flat out and event→receiver latency at a
// fixed rate below saturation. Run:
//
//	go test -run '^$' -bench DeliveryThroughput -benchtime 1x ./e2e/bench/
//
// WEBHOOKD_BENCH_N (default 300) sets deliveries per measurement,
// WEBHOOKD_BENCH_RATE (default 30) the fixed rate for latency, and
// WEBHOOKD_BENCH_START_WINDOW the starter's START_WINDOW (0: the default),
// to measure what a smaller window costs in throughput.
func BenchmarkDeliveryThroughput(b *testing.B) {
	n := envInt("WEBHOOKD_BENCH_N", 300)
	rate := envInt("WEBHOOKD_BENCH_RATE", 30)
	st := rig.NewStackWith(b, rig.Options{TemporalFile: filepath.Join(b.TempDir(), "temporal.db"),
		StartWindow: envInt("WEBHOOKD_BENCH_START_WINDOW", 0)})
	rc := newTimingReceiver(b)
	st.CreateWebhook("bench", rc.URL, rig.Secret)
	startNaiveWorker(b, st.Client, rc.URL)
	payload := strings.Repeat("x", 1000)

	webhookd := func(id string) error {
		req, err := http.NewRequest("POST", st.API.URL+"/api/v1/events",
			strings.NewReader(fmt.Sprintf(`{"id":%q,"type":"order.created","data":{"pad":%q}}`, id, payload)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := st.API.Client().Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			return fmt.Errorf("ingest: %d", resp.StatusCode)
		}
		return nil
	}
	baseline := func(id string) error {
		_, err := st.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: "naive-" + id, TaskQueue: naiveQueue,
		}, naiveWorkflowName, id, payload)
		return err
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run := func(name string, send func(string) error, flatOut bool) result {
			prefix := fmt.Sprintf("%s-%d-%v-", name, i, flatOut)
			var r result
			if flatOut {
				r = drive(b, rc, n, 32, 0, prefix, send)
			} else {
				r = drive(b, rc, n, 64, time.Second/time.Duration(rate), prefix, send)
			}
			b.Logf("%-9s %-9s %6.1f deliveries/s  p50 %4dms  p99 %4dms", name, map[bool]string{true: "flat-out", false: fmt.Sprintf("%d/s", rate)}[flatOut],
				r.perSecond, r.p50.Milliseconds(), r.p99.Milliseconds())
			return r
		}
		baseFlat := run("naive", baseline, true)
		oursFlat := run("webhookd", webhookd, true)
		baseRate := run("naive", baseline, false)
		oursRate := run("webhookd", webhookd, false)
		b.ReportMetric(oursFlat.perSecond, "deliveries/s")
		b.ReportMetric(baseFlat.perSecond, "naive-deliveries/s")
		b.ReportMetric(oursFlat.perSecond/baseFlat.perSecond, "throughput-ratio")
		b.ReportMetric(float64(oursRate.p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(oursRate.p99.Milliseconds()), "p99-ms")
		b.ReportMetric(float64(baseRate.p50.Milliseconds()), "naive-p50-ms")
		b.ReportMetric(float64(baseRate.p99.Milliseconds()), "naive-p99-ms")
		b.Logf("cores %d; webhookd/naive throughput %.2fx; at %d/s p50 %v vs %v, p99 %v vs %v",
			runtime.NumCPU(), oursFlat.perSecond/baseFlat.perSecond, rate, oursRate.p50, baseRate.p50, oursRate.p99, baseRate.p99)
	}
}

type result struct {
	perSecond float64
	p50, p99  time.Duration
}

// drive sends n deliveries with the given concurrency (and, if every > 0, at
// one per every), then waits for the receiver to have all of them.
func drive(b *testing.B, rc *timingReceiver, n, concurrency int, every time.Duration, prefix string, send func(string) error) result {
	b.Helper()
	sent := make([]time.Time, n)
	ids := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				sent[i] = time.Now()
				if err := send(prefix + strconv.Itoa(i)); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	start := time.Now()
	for i := range n {
		if every > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		}
		ids <- i
	}
	close(ids)
	wg.Wait()
	lat := make([]time.Duration, n)
	var last time.Time
	for i := range n {
		at := rc.wait(b, prefix+strconv.Itoa(i), 5*time.Minute)
		lat[i] = at.Sub(sent[i])
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	return result{
		perSecond: float64(n) / last.Sub(start).Seconds(),
		p50:       lat[n/2], p99: lat[n*99/100],
	}
}

// timingReceiver records when each X-Webhook-ID first arrived.
type timingReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	arrived map[string]time.Time
	changed *sync.Cond
}

func newTimingReceiver(b testing.TB) *timingReceiver {
	r := &timingReceiver{arrived: map[string]time.Time{}}
	r.changed = sync.NewCond(&r.mu)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(req.Body)
		id := req.Header.Get("X-Webhook-ID")
		r.mu.Lock()
		if _, ok := r.arrived[id]; !ok {
			r.arrived[id] = time.Now()
			r.changed.Broadcast()
		}
		r.mu.Unlock()
	}))
	b.Cleanup(r.Close)
	return r
}

func (r *timingReceiver) wait(b *testing.B, id string, within time.Duration) time.Time {
	deadline := time.Now().Add(within)
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if at, ok := r.arrived[id]; ok {
			return at
		}
		if time.Now().After(deadline) {
			b.Fatalf("delivery %s never arrived", id)
		}
		go func() { time.Sleep(100 * time.Millisecond); r.mu.Lock(); r.changed.Broadcast(); r.mu.Unlock() }()
		r.changed.Wait()
	}
}

// The naive baseline: a workflow that runs one regular activity which POSTs.
const (
	naiveQueue        = "bench-naive"
	naiveWorkflowName = "NaiveDelivery"
	naiveActivityName = "NaivePost"
)

func naiveWorkflow(ctx workflow.Context, id, pad string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 7},
	})
	return workflow.ExecuteActivity(ctx, naiveActivityName, id, pad).Get(ctx, nil)
}

func startNaiveWorker(b testing.TB, c client.Client, url string) worker.Worker {
	hc := &http.Client{Timeout: 10 * time.Second}
	post := func(ctx context.Context, id, pad string) error {
		req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(fmt.Sprintf(`{"id":%q,"data":{"pad":%q}}`, id, pad)))
		if err != nil {
			return err
		}
		req.Header.Set("X-Webhook-ID", id)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	w := worker.New(c, naiveQueue, worker.Options{MaxConcurrentActivityExecutionSize: 200, MaxConcurrentWorkflowTaskExecutionSize: 200})
	w.RegisterWorkflowWithOptions(naiveWorkflow, workflow.RegisterOptions{Name: naiveWorkflowName})
	w.RegisterActivityWithOptions(post, activity.RegisterOptions{Name: naiveActivityName})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	return w
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}
