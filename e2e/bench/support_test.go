package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Shared by the benchmarks: producers that post events and time each answer,
// and a receiver that times when each event (alone or inside a batch) first
// arrives.

// eventReceiver records when each event id first arrived, opening batches.
type eventReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	arrived  map[string]time.Time
	requests atomic.Int64
	status   atomic.Int32
}

func newEventReceiver(tb testing.TB) *eventReceiver {
	r := &eventReceiver{arrived: map[string]time.Time{}}
	r.status.Store(200)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		now := time.Now()
		r.requests.Add(1)
		var env struct {
			ID    string `json:"id"`
			Event string `json:"event"`
			Data  struct {
				Events []struct {
					ID string `json:"id"`
				} `json:"events"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &env)
		ids := []string{env.ID}
		if env.Event == "webhookd.batch" {
			ids = ids[:0]
			for _, e := range env.Data.Events {
				ids = append(ids, e.ID)
			}
		}
		r.mu.Lock()
		for _, id := range ids {
			if _, ok := r.arrived[id]; !ok {
				r.arrived[id] = now
			}
		}
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	tb.Cleanup(r.Close)
	return r
}

// waitFor waits until every id arrived and returns when the last one did.
func (r *eventReceiver) waitFor(tb testing.TB, ids []string, within time.Duration) (last time.Time, arrivals map[string]time.Time) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		missing := 0
		last = time.Time{}
		for _, id := range ids {
			at, ok := r.arrived[id]
			if !ok {
				missing++
			} else if at.After(last) {
				last = at
			}
		}
		if missing == 0 {
			arrivals = make(map[string]time.Time, len(ids))
			for _, id := range ids {
				arrivals[id] = r.arrived[id]
			}
			r.mu.Unlock()
			return last, arrivals
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d events never arrived within %v", missing, len(ids), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// produced is what a run of producers saw.
type produced struct {
	ids      []string
	sent     map[string]time.Time
	latency  []time.Duration // of accepted posts, sorted
	errors   int
	start    time.Time
	lastDone time.Time // when the last answer came
}

func (p produced) p(q float64) time.Duration {
	if len(p.latency) == 0 {
		return 0
	}
	return p.latency[min(len(p.latency)-1, int(float64(len(p.latency))*q))]
}

// produce posts n events to base+/api/v1/events from `producers` goroutines
// as fast as they are answered (every > 0 paces them at one per every).
func produce(tb testing.TB, base, token, prefix string, n, producers int, every time.Duration, body func(id string) string) produced {
	tb.Helper()
	return produceTo(tb, []string{base}, token, prefix, n, producers, every, body)
}

// produceTo is produce with the posts spread over several api processes in
// turn, as a load balancer would.
func produceTo(tb testing.TB, bases []string, token, prefix string, n, producers int, every time.Duration, body func(id string) string) produced {
	tb.Helper()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: producers}}
	out := produced{sent: make(map[string]time.Time, n), start: time.Now()}
	var mu sync.Mutex
	ids := make(chan int)
	var wg sync.WaitGroup
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id := fmt.Sprintf("%s-%06d", prefix, i)
				req, _ := http.NewRequest("POST", bases[i%len(bases)]+"/api/v1/events", strings.NewReader(body(id)))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				took := time.Since(t0)
				ok := err == nil && resp.StatusCode == 202
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				if ok {
					out.ids = append(out.ids, id)
					out.sent[id] = t0
					out.latency = append(out.latency, took)
				} else {
					out.errors++
				}
				if now := time.Now(); now.After(out.lastDone) {
					out.lastDone = now
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		if every > 0 {
			time.Sleep(time.Until(out.start.Add(time.Duration(i) * every)))
		}
		ids <- i
	}
	close(ids)
	wg.Wait()
	slices.Sort(out.latency)
	return out
}

func eventBody(id string) string {
	return fmt.Sprintf(`{"id":%q,"type":"order.created","data":{"pad":%q}}`, id, strings.Repeat("x", 1000))
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ratio is a ÷ b, or 0 when b measured nothing (an RSS that could not be
// read is -1), never Inf or NaN in a report.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// rssMB is a process's resident memory, from /proc.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// postJSON posts a JSON body and fails the benchmark on anything but want.
func postJSON(tb testing.TB, url, token, body string, want int) []byte {
	tb.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		tb.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// loadAvg is the machine's load average (1, 5, 15 minutes).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// benchTemporal is the production-like Temporal server named in
// WEBHOOKD_BENCH_TEMPORAL; without one the benchmark is skipped. Each run
// against it (a benchmark, or each case of one) calls freshTemporal first.
func benchTemporal(b *testing.B) string {
	addr := os.Getenv("WEBHOOKD_BENCH_TEMPORAL")
	if addr == "" {
		b.Skip("set WEBHOOKD_BENCH_TEMPORAL to a Temporal server with PostgreSQL persistence (scripts/temporal-postgres.sh start)")
	}
	return addr
}

// freshTemporal, with WEBHOOKD_BENCH_TEMPORAL_FRESH=true, drops the
// databases of the server scripts/temporal-postgres.sh runs and starts it
// again on new ones, so that a benchmark does not run on what an earlier
// one left: its histories, its timers still firing, the vacuuming of its
// tables. Each benchmark's numbers then depend on it alone, whatever ran
// before it in the same `make bench`. Off by default: it destroys that
// server's data. It touches nothing unless addr is the script's address
// (127.0.0.1 and TEMPORAL_BENCH_PORT; its TEMPORAL_BENCH_* settings are
// passed through), and runs the script's `start` before its `reset`: on
// the script's running server that only prints the address (of the port
// it is given: keep TEMPORAL_BENCH_PORT the one it was started with), and
// with the server down it fails without touching anything when another
// process holds the port.
func freshTemporal(b *testing.B, addr string) {
	b.Helper()
	if v := os.Getenv("WEBHOOKD_BENCH_TEMPORAL_FRESH"); v == "" || v == "false" {
		return
	} else if v != "true" {
		b.Fatalf("WEBHOOKD_BENCH_TEMPORAL_FRESH=%q: want true or false", v)
	}
	script := filepath.Join("..", "..", "scripts", "temporal-postgres.sh")
	if own := "127.0.0.1:" + cmp.Or(os.Getenv("TEMPORAL_BENCH_PORT"), "7233"); addr != own {
		b.Fatalf("WEBHOOKD_BENCH_TEMPORAL_FRESH resets only %s's server, at %s (TEMPORAL_BENCH_PORT), not WEBHOOKD_BENCH_TEMPORAL=%s; nothing was started or reset",
			script, own, addr)
	}
	b.StopTimer()
	defer b.StartTimer()
	t0 := time.Now()
	for i, step := range []string{"start", "reset", "start"} {
		out, err := exec.Command("bash", script, step).CombinedOutput()
		if err != nil {
			b.Fatalf("%s %s: %v\n%s", script, step, err, out)
		}
		if step != "start" {
			continue
		}
		// start's last line is the address it serves.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if last := lines[len(lines)-1]; last != addr {
			done := "nothing was reset"
			if i > 0 {
				done = "after its reset"
			}
			b.Fatalf("%s start serves %s, not WEBHOOKD_BENCH_TEMPORAL=%s; %s:\n%s", script, last, addr, done, out)
		}
	}
	b.Logf("Temporal at %s reset and started on fresh databases in %v", addr, time.Since(t0).Round(time.Second))
}

// queryDB runs query on a connection of its own to webhookd's PostgreSQL
// database at dbURL, closed after, and fails the benchmark on an error.
func queryDB(tb testing.TB, dbURL string, query func(ctx context.Context, conn *pgx.Conn) error) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := query(ctx, conn); err != nil {
		tb.Fatal(err)
	}
}
