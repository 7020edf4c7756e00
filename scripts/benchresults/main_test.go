package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const output = `goos: linux
cpu: AMD EPYC
BenchmarkFanOut/webhooks=1-2         	       1	3282082013 ns/op	         4.199 answer-p50-ms
BenchmarkFanOut-2 	1	9 ns/op	4.2 one-ms	41.9 1000-ms	9.98 ratio
    frontdoor_test.go:80: 2 cores: one event → 1 webhook answered in 4.2ms: ratio 9.98
--- FAIL: BenchmarkSoak-2
    soak_test.go:99: no Temporal
    retry_test.go:177: dev output:
--- FAIL: not a benchmark
FAIL
FAIL	github.com/webhookd/webhookd/e2e/bench	12.3s
panic: test timed out after 6h0m0s
FAIL	github.com/webhookd/webhookd/internal/ingest	21600.1s
FAIL	
`

// TestRecordsARunBesideThePrevious: a run's metrics are written with the
// machine's description, the input passes through unchanged, and the next
// run shows the first one's numbers beside its own.
func TestRecordsARunBesideThePrevious(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	var echo bytes.Buffer
	if err := run(strings.NewReader(output), &echo, dir, func() string { return "1.50" }, func() time.Time { return day }, []string{"PATH=/bin", "WEBHOOKD_BENCH_N=50", "TEMPORAL_BENCH_PORT=7300", "TEMPORAL_BENCH_PG_PASSWORD=hunter2"}); err != nil {
		t.Fatal(err)
	}
	if echo.String() != output {
		t.Fatalf("input not passed through: %q", echo.String())
	}
	second := strings.Replace(output, "9.98 ratio", "12.5 ratio", 1)
	if err := run(strings.NewReader(second), &bytes.Buffer{}, dir, func() string { return "3.00" }, func() time.Time { return day.Add(time.Hour) }, nil); err != nil {
		t.Fatal(err)
	}
	var f File
	b, _ := os.ReadFile(filepath.Join(dir, "bench-results.json"))
	if err := json.Unmarshal(b, &f); err != nil || f.Previous == nil {
		t.Fatalf("json: %v, previous %v", err, f.Previous)
	}
	if f.Current.CPU != "AMD EPYC" || f.Current.Cores < 1 || f.Current.LoadStart != "3.00" || len(f.Current.Benchmarks) != 2 ||
		!slices.Equal(f.Current.Failed, []string{"BenchmarkSoak", "package github.com/webhookd/webhookd/internal/ingest"}) ||
		f.Current.Settings == nil || len(f.Current.Settings) != 0 {
		t.Fatalf("current run: %+v", f.Current)
	}
	if !slices.Equal(f.Previous.Settings, []string{"TEMPORAL_BENCH_PG_PASSWORD=<redacted>", "TEMPORAL_BENCH_PORT=7300", "WEBHOOKD_BENCH_N=50"}) {
		t.Fatalf("previous run's settings: %q", f.Previous.Settings)
	}
	if got := f.Current.Benchmarks[1]; got.Name != "BenchmarkFanOut" || got.Metrics[3] != (Metric{Unit: "ratio", Value: 12.5}) {
		t.Fatalf("BenchmarkFanOut: %+v", got)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "bench-results.md"))
	for _, want := range []string{"| BenchmarkFanOut | ratio | 12.50 | 9.98 |", "| previous run | 2026-12-06 06:00 UTC |", "| BenchmarkFanOut/webhooks=1 | answer-p50-ms | 4.20 | 4.20 |",
		"- 2 cores: one event → 1 webhook answered in 4.2ms: ratio 9.98",
		"Settings of this run: none (every benchmark at its full size).",
		"Settings of the previous run: `TEMPORAL_BENCH_PG_PASSWORD=<redacted>` `TEMPORAL_BENCH_PORT=7300` `WEBHOOKD_BENCH_N=50`.",
		"Failed in this run (no numbers): BenchmarkSoak, package github.com/webhookd/webhookd/internal/ingest."} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestKeepsThePreviousRunWhenNothingRan: output without a benchmark line
// (the build failed) is an error, and the last results stay.
func TestKeepsThePreviousRunWhenNothingRan(t *testing.T) {
	dir := t.TempDir()
	if err := run(strings.NewReader("FAIL\tbuild failed\n"), &bytes.Buffer{}, dir, func() string { return "0" }, time.Now, nil); err == nil {
		t.Fatal("no error for a run without results")
	}
	if _, err := os.Stat(filepath.Join(dir, "bench-results.json")); !os.IsNotExist(err) {
		t.Fatalf("results written for an empty run: %v", err)
	}
}

// TestSaysWhenARunsSettingsWereNotRecorded: a run recorded before settings
// were kept (no "settings" field) does not read as a full-size run.
func TestSaysWhenARunsSettingsWereNotRecorded(t *testing.T) {
	dir := t.TempDir()
	old := `{"current": {"date": "2026-12-06T06:21:00Z", "cores": 2, "benchmarks": [{"name": "BenchmarkFanOut", "metrics": [{"unit": "ratio", "value": 12.8}]}]}}`
	if err := os.WriteFile(filepath.Join(dir, "bench-results.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(strings.NewReader(output), &bytes.Buffer{}, dir, func() string { return "1" }, time.Now, nil); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "bench-results.md"))
	for _, want := range []string{"Settings of this run: none (every benchmark at its full size).", "Settings of the previous run: not recorded."} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestWritesThePerformanceTable: a run rewrites the table between the
// markers of performance.md (and nothing around it), computing ratios
// from sub-benchmarks, judging targets, and showing the previous run.
func TestWritesThePerformanceTable(t *testing.T) {
	dir := t.TempDir()
	doc := "# Performance\n\nintro\n\n" + tableBegin + "\nold table\n" + tableEnd + "\n\nhistory\n"
	path := filepath.Join(dir, "performance.md")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	fanOut := func(many string) string {
		return "cpu: AMD EPYC\n" +
			"BenchmarkFanOut/webhooks=1-2 \t 1\t 1 ns/op\t 4.0 answer-p50-ms\n" +
			"BenchmarkFanOut/webhooks=1000-2 \t 1\t 1 ns/op\t " + many + " answer-p50-ms\n" +
			"BenchmarkSoak-2 \t 1\t 1 ns/op\t 1.02 worker-rss-ratio\t 2.5 healthy-p99-ratio\n"
	}
	day := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	for i, many := range []string{"20", "48"} {
		if err := run(strings.NewReader(fanOut(many)), &bytes.Buffer{}, dir, func() string { return "1.00" },
			func() time.Time { return day.Add(time.Duration(i) * time.Hour) }, []string{"WEBHOOKD_BENCH_N=50"}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{
		"# Performance\n\nintro\n\n" + tableBegin + "\nThis run: 2026-12-07 19:00 UTC, ",
		"settings: `WEBHOOKD_BENCH_N=50`. Previous run: 2026-12-07 18:00 UTC",
		"| `FanOut`: answer to an event matching 1,000 webhooks ÷ matching 1 | 12.00× | 5.00× | ≤ 10 | **no** |",
		"| `Soak` (`api` and `worker` apart): worker RSS over the last window ÷ the first (a third of the soak, at most 5 minutes each) | 1.02× | 1.02× | ≤ 1.1 | yes |",
		"| `Burst` (PostgreSQL store): accepted/s ÷ delivered/s | – | – | ≥ 10 |  |", // did not run: no verdict
		"\n" + tableEnd + "\n\nhistory\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("performance.md lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "old table") {
		t.Errorf("the old table is still there:\n%s", got)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "bench-results.md"))
	if !strings.Contains(string(md), "| `Soak`: healthy deliveries' event → receiver p99, worst minute ÷ minute 1 | 2.50× | 2.50× | ≤ 1.5 | **no** |") {
		t.Errorf("bench-results.md lacks the table:\n%s", md)
	}
	// -render writes both again from the JSON alone, unchanged.
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rerender(dir); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(got) {
		t.Errorf("-render wrote another table:\n%s\nwant:\n%s", again, got)
	}
}

// TestRefusesAPerformanceFileWithoutItsMarkers: a performance.md whose
// markers are missing, doubled or out of order is an error, not a table
// silently left as it was; the results themselves are still saved.
func TestRefusesAPerformanceFileWithoutItsMarkers(t *testing.T) {
	for name, doc := range map[string]string{
		"none":     "# Performance\n",
		"only one": tableBegin + "\n",
		"reversed": tableEnd + "\n" + tableBegin + "\n",
		"doubled":  tableBegin + "\n" + tableEnd + "\n" + tableBegin + "\n" + tableEnd + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "performance.md"), []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			err := run(strings.NewReader(output), &bytes.Buffer{}, dir, func() string { return "1" }, time.Now, nil)
			if err == nil || !strings.Contains(err.Error(), "its table is not written") {
				t.Fatalf("err = %v, want the markers named", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "bench-results.json")); err != nil {
				t.Fatalf("results not saved: %v", err)
			}
		})
	}
}

// TestShowsTimePerOpOnlyForRepeatedBenchmarks: a micro-benchmark's ns/op
// (run many times) is kept in the markdown; a one-shot benchmark's is not,
// and a NaN metric is dropped rather than failing the record.
func TestShowsTimePerOpOnlyForRepeatedBenchmarks(t *testing.T) {
	dir := t.TempDir()
	// The previous run had it at one iteration: its ns/op is not shown.
	first := "BenchmarkMatch10000Webhooks-2 \t 1\t 88888 ns/op\n"
	in := "BenchmarkMatch10000Webhooks-2 \t 3000\t 1234 ns/op\n" +
		"BenchmarkBurst/sqlite-2 \t 1\t 99999 ns/op\t NaN accepted÷delivered\t 3.5 ingest-p99-ms\n"
	for _, out := range []string{first, in} {
		if err := run(strings.NewReader(out), &bytes.Buffer{}, dir, func() string { return "1" }, time.Now, nil); err != nil {
			t.Fatal(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "bench-results.md"))
	for want, present := range map[string]bool{
		"| BenchmarkMatch10000Webhooks | ns/op | 1234 | – |":   true,
		"| BenchmarkBurst/sqlite | ingest-p99-ms | 3.50 | – |": true,
		"99999":                    false,
		"accepted÷delivered | NaN": false,
	} {
		if strings.Contains(string(md), want) != present {
			t.Errorf("markdown has %q: %t, want %t:\n%s", want, !present, present, md)
		}
	}
}

// TestReadsEveryLineWhateverItHolds: a log line shaped like a result, a
// line longer than any buffer, and a skipped benchmark neither stop the
// parse (which would close the pipe under a running go test) nor become
// results; the input passes through whole.
func TestReadsEveryLineWhateverItHolds(t *testing.T) {
	in := "BenchmarkSoak 1 minute: 3 of 4\n" +
		"    soak_test.go:1: " + strings.Repeat("x", 2<<20) + "\n" +
		"--- SKIP: BenchmarkProductionLike-2\n" +
		"BenchmarkBreaker-2 \t 1\t 5 ns/op\t 0 dlq-with-breaker\n" +
		"no newline at the end"
	var echo bytes.Buffer
	var r Run
	if err := parse(io.TeeReader(strings.NewReader(in), &echo), &r); err != nil {
		t.Fatal(err)
	}
	if echo.String() != in {
		t.Fatalf("passed through %d of %d bytes", echo.Len(), len(in))
	}
	if len(r.Benchmarks) != 1 || r.Benchmarks[0].Name != "BenchmarkBreaker" || !slices.Equal(r.Skipped, []string{"BenchmarkProductionLike"}) {
		t.Fatalf("benchmarks %+v, skipped %q", r.Benchmarks, r.Skipped)
	}
}

// TestUnmeasuredValuesAreMissingNotMet: an RSS the benchmark could not
// read (-1) or a ratio without its baseline (0) shows as missing, and a
// worst case is missing while one case is.
func TestUnmeasuredValuesAreMissingNotMet(t *testing.T) {
	m := metrics{"BenchmarkSoak worker-rss-ratio": 0, "BenchmarkAwaitingRetry/restart dev-rss-MB": -1,
		"BenchmarkX/slow quiet-p99-ms": 30, "BenchmarkX/burst quiet-p99-ms": 80}
	for _, name := range []string{"BenchmarkSoak worker-rss-ratio", "BenchmarkAwaitingRetry/restart dev-rss-MB"} {
		bench, unit, _ := strings.Cut(name, " ")
		if v, ok := measured(bench, unit)(m); ok {
			t.Errorf("%s = %v counted as measured", name, v)
		}
	}
	if v, ok := worst("quiet-p99-ms", "BenchmarkX/slow", "BenchmarkX/burst")(m); !ok || v != 80 {
		t.Errorf("worst of two = %v %t, want 80", v, ok)
	}
	if _, ok := worst("quiet-p99-ms", "BenchmarkX/slow", "BenchmarkX/timeout")(m); ok {
		t.Error("worst with a case missing counted as measured")
	}
}
