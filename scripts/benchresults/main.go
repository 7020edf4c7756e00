// Command benchresults records one `make bench` run: it copies `go test
// -bench` output from stdin to stdout as it comes and, at the end, writes
// the run's numbers (machine, cores, date, load) to docs/bench-results.json
// and docs/bench-results.md, with the previous run's numbers beside each
// metric, so a regression shows in the diff. It exits non-zero when the
// input has no benchmark line (a failed build, say): nothing is written then,
// and the previous run stays.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Run is one `make bench` run.
type Run struct {
	Date  time.Time `json:"date"`
	Cores int       `json:"cores"`
	CPU   string    `json:"cpu"`
	Go    string    `json:"go"`
	// Load is the machine's 1-minute load average when the run started and
	// when it ended (other work on the machine skews absolute numbers; the
	// ratios each benchmark reports are measured within the run).
	LoadStart string `json:"loadStart"`
	LoadEnd   string `json:"loadEnd"`
	// Settings are the WEBHOOKD_BENCH_* and TEMPORAL_BENCH_* variables the
	// run had (sizes, the production-like server): a number means little
	// without the size it was measured at.
	// Values of names that look secret (PASSWORD, SECRET, TOKEN, KEY) are
	// redacted: the results are committed. Absent (null) in runs recorded
	// before it was kept.
	Settings []string `json:"settings"`
	// Skipped names each benchmark that skipped itself (the production
	// ones without WEBHOOKD_BENCH_TEMPORAL).
	Skipped []string `json:"skipped,omitempty"`
	// Failed names each benchmark that failed, and each package whose test
	// binary failed (a panic, a timeout): their metrics are missing, and a
	// missing row should not read as a benchmark nobody ran.
	Failed     []string `json:"failed,omitempty"`
	Benchmarks []Result `json:"benchmarks"`
	// Logs are the benchmarks' own summary lines (b.Logf, always printed):
	// the ratios a parent benchmark computes from its sub-benchmarks, whose
	// own result line go test does not print.
	Logs []string `json:"logs,omitempty"`
}

// Result is one benchmark line: its name, how many times it ran, and its
// metrics in the order printed.
type Result struct {
	Name string `json:"name"`
	// N is the line's iteration count: its ns/op means something only
	// when it ran more than once (the micro-benchmarks).
	N       int      `json:"n,omitempty"`
	Metrics []Metric `json:"metrics"`
}

// meaningful is false for the ns/op of a benchmark run once: the time of a
// whole scenario, not of an operation.
func (res Result) meaningful(m Metric) bool { return m.Unit != "ns/op" || res.N > 1 }

// Metric is one value a benchmark reported.
type Metric struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// File is what docs/bench-results.json holds.
type File struct {
	Current  Run  `json:"current"`
	Previous *Run `json:"previous,omitempty"`
}

func main() {
	dir := flag.String("dir", "docs", "where bench-results.json and bench-results.md go")
	render := flag.Bool("render", false, "write bench-results.md and performance.md's table again from bench-results.json, without a run (after the table's rows change)")
	flag.Parse()
	var err error
	if *render {
		err = rerender(*dir)
	} else {
		err = run(os.Stdin, os.Stdout, *dir, loadAverage, time.Now, os.Environ())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchresults:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, dir string, load func() string, now func() time.Time, environ []string) error {
	r := Run{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadStart: load(), Settings: settings(environ)}
	if err := parse(io.TeeReader(in, out), &r); err != nil {
		return err
	}
	r.LoadEnd, r.Date = load(), now().UTC().Truncate(time.Second)
	if len(r.Benchmarks) == 0 {
		return errors.New("no benchmark results in the input; the previous results are kept")
	}
	f := File{Current: r}
	jsonPath := filepath.Join(dir, "bench-results.json")
	prev, err := readResults(jsonPath)
	switch {
	case err == nil:
		f.Previous = &prev.Current
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return write(dir, f)
}

// rerender writes the documents again from the recorded runs.
func rerender(dir string) error {
	f, err := readResults(filepath.Join(dir, "bench-results.json"))
	if err != nil {
		return err
	}
	return write(dir, f)
}

// readResults reads the recorded runs.
func readResults(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// write writes bench-results.md and performance.md's table from f.
func write(dir string, f File) error {
	if err := os.WriteFile(filepath.Join(dir, "bench-results.md"), []byte(markdown(f)), 0o644); err != nil {
		return err
	}
	return updatePerformance(filepath.Join(dir, "performance.md"), f)
}

// The Performance table in performance.md sits between these lines; a
// run rewrites what is between them and nothing else. Without the file
// nothing is written; a file without exactly one pair is an error (after
// the results are saved), so that the table never goes stale unnoticed.
const (
	tableBegin = "<!-- make bench writes the table below; do not edit it by hand -->"
	tableEnd   = "<!-- end of the table make bench writes -->"
)

func updatePerformance(path string, f File) error {
	doc, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	text := string(doc)
	if strings.Count(text, tableBegin) != 1 || strings.Count(text, tableEnd) != 1 || strings.Index(text, tableBegin) > strings.Index(text, tableEnd) {
		return fmt.Errorf("%s: its table is not written: it needs one line %q and, after it, one line %q; "+
			"the run is saved in bench-results.json and .md: fix the lines, then run go run ./scripts/benchresults -render", path, tableBegin, tableEnd)
	}
	before, rest, _ := strings.Cut(text, tableBegin)
	_, after, _ := strings.Cut(rest, tableEnd)
	table := "\n" + runLine(f) + "\n\n" + headlineTable(f) + "\n"
	return os.WriteFile(path, []byte(before+tableBegin+table+tableEnd+after), 0o644)
}

// runLine says which runs the table compares.
func runLine(f File) string {
	describe := func(r Run) string {
		return fmt.Sprintf("%s, %d cores (%s), %s, load %s → %s, settings: %s", r.Date.Format("2006-01-02 15:04 UTC"),
			r.Cores, r.CPU, r.Go, r.LoadStart, r.LoadEnd, settingsText(r))
	}
	line := "This run: " + describe(f.Current) + "."
	if len(f.Current.Failed) > 0 {
		line += " Failed in it (their rows show –): " + strings.Join(f.Current.Failed, ", ") + "."
	}
	if len(f.Current.Skipped) > 0 {
		line += " Skipped in it (their rows show –): " + strings.Join(f.Current.Skipped, ", ") + "."
	}
	if f.Previous != nil {
		line += " Previous run: " + describe(*f.Previous) + "."
	}
	return line
}

func settingsText(r Run) string {
	switch {
	case r.Settings == nil:
		return "not recorded"
	case len(r.Settings) == 0:
		return "none (every benchmark at its full size)"
	}
	return "`" + strings.Join(r.Settings, "` `") + "`"
}

// parse reads go test's benchmark lines ("BenchmarkX-2  1  123 ns/op  4.5
// ratio") and its "cpu:" line. It reads to the end whatever the lines
// hold: stopping early would close the pipe and kill a run hours in.
func parse(in io.Reader, r *Run) error {
	br := bufio.NewReader(in)
	failedInPackage := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			if err == io.EOF {
				return nil
			}
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if name, ok := benchmarkEnded(line, "SKIP"); ok {
			r.Skipped = append(r.Skipped, name)
			continue
		}
		if cpu, ok := strings.CutPrefix(line, "cpu: "); ok {
			r.CPU = strings.TrimSpace(cpu)
			continue
		}
		if name, ok := benchmarkEnded(line, "FAIL"); ok {
			r.Failed = append(r.Failed, name)
			failedInPackage++
			continue
		}
		// A package's last line: "FAIL\t<package>" after any failure. Named
		// only when no benchmark failed by name (a panic, a timeout).
		if pkg, ok := strings.CutPrefix(line, "FAIL\t"); ok {
			if f := strings.Fields(pkg); len(f) > 0 && failedInPackage == 0 {
				r.Failed = append(r.Failed, "package "+f[0])
			}
			failedInPackage = 0
			continue
		}
		if strings.HasPrefix(line, "ok  \t") {
			failedInPackage = 0
		}
		if m := logLine.FindStringSubmatch(line); m != nil {
			r.Logs = append(r.Logs, m[1])
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue // a log line that starts with a benchmark's name
		}
		res := Result{Name: trimProcs(f[0]), N: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				res.Metrics = nil // not a result line after all: a log line shaped like one
				break
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue // nothing measured; JSON cannot hold it either
			}
			res.Metrics = append(res.Metrics, Metric{Unit: f[i+1], Value: v})
		}
		if len(res.Metrics) > 0 {
			r.Benchmarks = append(r.Benchmarks, res)
		}
	}
}

// benchmarkEnded reads go test's "--- SKIP: BenchmarkX-2 (1.2s)" (or
// FAIL), indented for a sub-benchmark: the benchmark's name.
func benchmarkEnded(line, how string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "--- "+how+": ")
	if !ok || !strings.HasPrefix(rest, "Benchmark") {
		return "", false
	}
	return trimProcs(strings.Fields(rest)[0]), true
}

// settings keeps the benchmarks' own variables from the environment, sorted,
// with the values of secret-looking names redacted.
func settings(environ []string) []string {
	kept := []string{}
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "WEBHOOKD_BENCH_") && !strings.HasPrefix(kv, "TEMPORAL_BENCH_") {
			continue
		}
		name, _, _ := strings.Cut(kv, "=")
		for _, secret := range []string{"PASSWORD", "SECRET", "TOKEN", "KEY"} {
			if strings.Contains(name, secret) {
				kv = name + "=<redacted>"
			}
		}
		kept = append(kept, kv)
	}
	slices.Sort(kept)
	return kept
}

// logLine is a b.Logf line as go test prints it: indented, after its
// file and line.
var logLine = regexp.MustCompile(`^\s+\w+_test\.go:\d+: (.+)$`)

// trimProcs drops the -GOMAXPROCS suffix ("BenchmarkFanOut-2").
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func markdown(f File) string {
	var b strings.Builder
	c := f.Current
	b.WriteString("# Benchmark results\n\n")
	b.WriteString("Written by `make bench` (scripts/benchresults) from its last run; do not edit. ")
	b.WriteString("Compare ratios, not absolute rates: they are measured within one run, on a machine whose load is given.\n\n")
	fmt.Fprintf(&b, "| run | date | cores | cpu | go | load (1 min) at start → end |\n|---|---|---|---|---|---|\n")
	row := func(label string, r Run) {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s → %s |\n", label, r.Date.Format("2006-01-02 15:04 UTC"), r.Cores, r.CPU, r.Go, r.LoadStart, r.LoadEnd)
	}
	row("this run", c)
	prev := metrics{}
	if f.Previous != nil {
		row("previous run", *f.Previous)
	}
	settingsLine := func(label string, r Run) {
		fmt.Fprintf(&b, "\nSettings of %s: %s.\n", label, settingsText(r))
		if len(r.Failed) > 0 {
			fmt.Fprintf(&b, "\nFailed in %s (no numbers): %s.\n", label, strings.Join(r.Failed, ", "))
		}
		if len(r.Skipped) > 0 {
			fmt.Fprintf(&b, "\nSkipped in %s (no numbers): %s.\n", label, strings.Join(r.Skipped, ", "))
		}
	}
	settingsLine("this run", c)
	if f.Previous != nil {
		settingsLine("the previous run", *f.Previous)
		prev = metricsOf(*f.Previous)
	}
	b.WriteString("\nThe Performance table ([performance.md](performance.md) shows it too):\n\n")
	b.WriteString(headlineTable(f))
	b.WriteString("\nEvery metric:\n")
	b.WriteString("\n| benchmark | metric | this run | previous run |\n|---|---|---|---|\n")
	for _, res := range c.Benchmarks {
		for _, m := range res.Metrics {
			if !res.meaningful(m) {
				continue
			}
			p := "–"
			if v, ok := prev.get(res.Name, m.Unit); ok {
				p = number(v)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", res.Name, m.Unit, number(m.Value), p)
		}
	}
	if len(c.Logs) > 0 {
		b.WriteString("\nWhat the benchmarks logged (this run):\n\n")
		for _, l := range c.Logs {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	return b.String()
}

func number(v float64) string {
	switch a := max(v, -v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// loadAverage is the 1-minute load average, or "?" where /proc has none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
