package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/webhookd/webhookd/e2e/rig"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"
)

// The sample monitoring in deploy/: a Grafana dashboard and Prometheus alert
// rules. These tests keep them honest: both files are well formed, and every
// metric (and every label) their PromQL names is one a real webhookd process
// exposes.

// The files, relative to the repository's root (tests run in e2e).
const (
	dashboardFile = "deploy/grafana/webhookd-dashboard.json"
	alertsFile    = "deploy/prometheus/webhookd-alerts.yaml"
)

func repoFile(name string) string { return filepath.Join("..", filepath.FromSlash(name)) }

// TestDeployMonitoringFilesWellFormed: every alert rule has an expression, a
// valid for:, a severity and summary/description annotations; the dashboard
// has a Prometheus datasource variable and every panel uses it, has a
// description and at least one query.
func TestDeployMonitoringFilesWellFormed(t *testing.T) {
	groups := loadAlertRules(t)
	if len(groups) == 0 {
		t.Fatalf("%s: no rule groups", alertsFile)
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("%s: group %q has no name or no rules", alertsFile, g.Name)
		}
		for _, r := range g.Rules {
			where := fmt.Sprintf("%s: group %s, alert %s", alertsFile, g.Name, r.Alert)
			if r.Alert == "" {
				t.Errorf("%s: a rule of group %s has no alert name (recording rules are not expected here)", alertsFile, g.Name)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("%s: duplicate alert name", where)
			}
			seen[r.Alert] = true
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s: no expr", where)
			}
			if d, err := model.ParseDuration(r.For); r.For == "" || err != nil || d <= 0 {
				t.Errorf("%s: for: %q is not a positive duration", where, r.For)
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity label %q, want critical, warning or info", where, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", where, a)
				}
			}
		}
	}

	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("%s: title %q, uid %q, schemaVersion %d", dashboardFile, d.Title, d.UID, d.SchemaVersion)
	}
	var dsVar bool
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"` {
			dsVar = true
		}
	}
	if !dsVar {
		t.Errorf("%s: no template variable datasource of type datasource, query prometheus", dashboardFile)
	}
	ids := map[int]bool{}
	panels := d.allPanels()
	if len(panels) == 0 {
		t.Fatalf("%s: no panels", dashboardFile)
	}
	for _, p := range panels {
		where := fmt.Sprintf("%s: panel %d %q", dashboardFile, p.ID, p.Title)
		if ids[p.ID] {
			t.Errorf("%s: duplicate panel id", where)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if !usesDatasourceVar(p.Datasource) {
			t.Errorf("%s: datasource %v, want the ${datasource} variable", where, p.Datasource)
		}
		if strings.TrimSpace(p.Description) == "" {
			t.Errorf("%s: no description", where)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no target", where)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" {
				t.Errorf("%s: target %q has no expr or refId", where, tg.RefID)
			}
			if tg.Datasource != nil && !usesDatasourceVar(tg.Datasource) {
				t.Errorf("%s: target %s: datasource %v, want the ${datasource} variable", where, tg.RefID, tg.Datasource)
			}
		}
	}
}

// TestDeployMonitoringMetricsExist runs webhookd (Temporal dev server, API,
// worker, starter, PostgreSQL), makes it deliver, fail, retry, dead-letter,
// and makes the Temporal SDK record a failed workflow task and a failed
// request, so that the lazily created series exist; then it checks every
// metric and label named by the alert rules and the dashboard (panels and
// template variables) against what /metrics serves, and that the dashboard
// shows every webhookd_* metric.
func TestDeployMonitoringMetricsExist(t *testing.T) {
	type query struct{ where, expr string }
	var queries []query
	for _, g := range loadAlertRules(t) {
		for _, r := range g.Rules {
			queries = append(queries, query{fmt.Sprintf("%s: alert %s", alertsFile, r.Alert), r.Expr})
		}
	}
	d := loadDashboard(t)
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			queries = append(queries, query{fmt.Sprintf("%s: panel %q, target %s", dashboardFile, p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, err := variableQuery(v.Query)
		if err != nil {
			t.Fatalf("%s: variable %s: %v", dashboardFile, v.Name, err)
		}
		queries = append(queries, query{fmt.Sprintf("%s: variable %s", dashboardFile, v.Name), q})
	}

	// One retry 200ms after the first attempt: the timer's workflow task is
	// polled (not eagerly started), so schedule-to-start latency is recorded.
	st := rig.NewStack(t, 200*time.Millisecond)
	for _, c := range []struct {
		name, status string
		code         int
	}{{"ok", "succeeded", 200}, {"broken", "failed", 500}, {"gone", "failed", 410}} {
		rc := rig.NewRecorder(t, rig.Always(c.code))
		var hook map[string]any
		if code := st.Call("POST", "/api/v1/webhooks", map[string]any{
			"name": c.name, "webhookType": "Generic", "eventFilters": []any{map[string]any{"eventType": c.name}},
			"webhookConfig": map[string]any{"endpoint": rc.URL, "timeout": 5},
		}, &hook); code != 201 {
			t.Fatalf("create %s: %d", c.name, code)
		}
		var ans rig.Ingested
		for range 2 { // new, then a repeat
			st.Call("POST", "/api/v1/events", map[string]any{"id": "evt-" + c.name, "type": c.name}, &ans)
		}
		st.WaitDelivery(ans.Deliveries[0].ID, c.status, 20*time.Second)
	}
	st.Call("GET", "/api/v1/deliveries/no-such-delivery", nil, nil) // a 4xx
	// The SDK's failure counters appear with the first failure: a workflow
	// type no worker knows fails its workflow task, and describing a
	// workflow that does not exist fails a request.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "dashboards-test-unknown-type", TaskQueue: st.Config.TaskQueue}, "NoSuchWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Client.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") }()
	if _, err := st.Client.DescribeWorkflowExecution(ctx, "dashboards-test-no-such-workflow", ""); err == nil {
		t.Fatal("describing a workflow that does not exist succeeded")
	}

	// Series appear as things happen; give the last ones a few seconds.
	var problems []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		exposed := exposedSeries(t, st)
		problems = problems[:0]
		for _, q := range queries {
			problems = append(problems, checkExpr(exposed, q.where, q.expr)...)
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("checked %d expressions", len(queries))

	// And the dashboard shows every webhookd metric: one added later
	// belongs on it too.
	shown := map[string]bool{}
	for _, q := range queries {
		if !strings.HasPrefix(q.where, dashboardFile) {
			continue
		}
		refs, _, _ := promMetricRefs(q.expr)
		for _, r := range refs {
			shown[histogramFamily(r.name)] = true
		}
	}
	for name := range exposedSeries(t, st) {
		if f := histogramFamily(name); strings.HasPrefix(f, "webhookd_") && !shown[f] {
			t.Errorf("%s: no panel shows %s", dashboardFile, f)
		}
	}
}

// TestDeployPromQLExtractor pins down the extractor, and that a misspelled
// metric or label is reported with the file, the expression and the name.
func TestDeployPromQLExtractor(t *testing.T) {
	for _, c := range []struct {
		expr    string
		metrics []string
		labels  []string // matcher and grouping label names
	}{
		{`up`, []string{"up"}, nil},
		{`sum by (job) (rate(a_total{outcome!="success"}[10m])) / sum by (job) (rate(a_total[10m])) > 0.25`, []string{"a_total"}, []string{"job", "outcome"}},
		{`histogram_quantile(0.95, sum by (le, route) (rate(h_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))`, []string{"h_bucket"}, []string{"instance", "job", "le", "route"}},
		{`max by (job) (g) > 1000 and max by (job) (deriv(g[15m])) > 0`, []string{"g"}, []string{"job"}},
		{`x unless on (job) sum without (a, b) (increase(y{op="a,}b"}[15m] offset 5m)) > 0`, []string{"x", "y"}, []string{"a", "b", "job", "op"}},
		{`absent(p{t="w"}) or sum(p{t="w"}) == 0`, []string{"p"}, []string{"t"}},
		{`delta(g[1h:5m]) # a comment naming not_a_metric`, []string{"g"}, nil},
		{`{__name__="named"} * on (i) group_left (k) info_metric`, []string{"info_metric", "named"}, []string{"__name__", "i", "k"}},
		{`a_sum / a_count`, []string{"a_count", "a_sum"}, nil},
	} {
		refs, groupLabels, err := promMetricRefs(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		metrics, labels := map[string]bool{}, map[string]bool{}
		for _, r := range refs {
			metrics[r.name] = true
			for _, l := range r.labels {
				labels[l] = true
			}
		}
		for _, l := range groupLabels {
			labels[l] = true
		}
		if got := sortedKeys(metrics); strings.Join(got, " ") != strings.Join(c.metrics, " ") {
			t.Errorf("%s: metrics %v, want %v", c.expr, got, c.metrics)
		}
		if got := sortedKeys(labels); strings.Join(got, " ") != strings.Join(c.labels, " ") {
			t.Errorf("%s: labels %v, want %v", c.expr, got, c.labels)
		}
	}
	for _, bad := range []string{`rate(x[5m]`, `sum(x))`, `rat(x[5m])`, `{job="a"}`, `x{a="b}`, `x $y`} {
		if _, _, err := promMetricRefs(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}

	exposed := map[string]map[string]bool{
		"webhookd_deliveries":                               {"status": true},
		"webhookd_delivery_attempt_duration_seconds_bucket": {"outcome": true, "le": true},
	}
	for _, c := range []struct{ expr, want string }{
		{`max(webhookd_deliverys{status="failed"})`, `metric "webhookd_deliverys" is not exposed`},
		{`max(webhookd_deliveries{stauts="failed"})`, `label "stauts" of webhookd_deliveries is not exposed`},
		{`histogram_quantile(0.5, sum by (le, outcom) (rate(webhookd_delivery_attempt_duration_seconds_bucket[5m])))`, `grouping label "outcom"`},
		{`webhookd_delivery_attempt_duration_seconds`, `metric "webhookd_delivery_attempt_duration_seconds" is not exposed`},
	} {
		problems := checkExpr(exposed, "f.yaml: alert A", c.expr)
		if len(problems) != 1 || !strings.Contains(problems[0], c.want) ||
			!strings.Contains(problems[0], "f.yaml: alert A") || !strings.Contains(problems[0], c.expr) {
			t.Errorf("%s: problems %q, want one naming the place, the expression and %s", c.expr, problems, c.want)
		}
	}
	if p := checkExpr(exposed, "w", `max by (status) (webhookd_deliveries{job=~"$job", status="held"})`); len(p) != 0 {
		t.Errorf("a valid expression: %q", p)
	}
}

// checkExpr reports every metric or label expr names that exposed (series
// name → label names) lacks, naming where, the expression and the name.
// up is Prometheus's own, per scrape target.
func checkExpr(exposed map[string]map[string]bool, where, expr string) []string {
	refs, groupLabels, err := promMetricRefs(expr)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v in\n\t%s", where, err, expr)}
	}
	if len(refs) == 0 {
		return []string{fmt.Sprintf("%s: no metric in\n\t%s", where, expr)}
	}
	// Labels Prometheus attaches to every scraped series.
	known := map[string]bool{"job": true, "instance": true}
	var problems []string
	missing := false
	for _, r := range refs {
		labels, ok := exposed[r.name]
		if r.name == "up" {
			labels, ok = map[string]bool{}, true
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: metric %q is not exposed by webhookd, in\n\t%s", where, r.name, expr))
			missing = true
			continue
		}
		for l := range labels {
			known[l] = true
		}
		for _, l := range r.labels {
			if !labels[l] && l != "job" && l != "instance" && l != "__name__" {
				problems = append(problems, fmt.Sprintf("%s: label %q of %s is not exposed by webhookd, in\n\t%s", where, l, r.name, expr))
			}
		}
	}
	for _, l := range groupLabels {
		if !known[l] && !missing { // a missing metric's labels are unknown
			problems = append(problems, fmt.Sprintf("%s: grouping label %q is on none of the expression's metrics, in\n\t%s", where, l, expr))
		}
	}
	return problems
}

// exposedSeries scrapes /metrics (the stack's api and worker share one
// registry) into series name → label names, as PromQL sees them: a
// histogram x is x_bucket (with le), x_sum and x_count.
func exposedSeries(t testing.TB, st *rig.Stack) map[string]map[string]bool {
	t.Helper()
	families := st.MetricFamilies()
	out := map[string]map[string]bool{}
	add := func(name string, labels map[string]bool, extra ...string) {
		set := map[string]bool{}
		for l := range labels {
			set[l] = true
		}
		for _, l := range extra {
			set[l] = true
		}
		out[name] = set
	}
	for name, f := range families {
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		switch f.GetType().String() {
		case "HISTOGRAM":
			add(name+"_bucket", labels, "le")
			add(name+"_sum", labels)
			add(name+"_count", labels)
		case "SUMMARY":
			add(name, labels, "quantile")
			add(name+"_sum", labels)
			add(name+"_count", labels)
		default:
			add(name, labels)
		}
	}
	return out
}

// metricRef is a metric a PromQL expression selects, with the label names
// its matchers use.
type metricRef struct {
	name   string
	labels []string
}

var (
	promAggregators = setOf("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio")
	promFunctions = setOf("abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
		"day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor",
		"histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
		"histogram_stdvar", "histogram_sum", "holt_winters", "double_exponential_smoothing", "hour", "idelta",
		"increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month",
		"predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label",
		"sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time", "min_over_time",
		"max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
		"stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time", "acos", "acosh", "asin",
		"asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi", "info",
		"start", "end")
	// Keywords followed by a parenthesised list of label names.
	promLabelListKeywords = setOf("by", "without", "on", "ignoring", "group_left", "group_right")
	promKeywords          = setOf("and", "or", "unless", "bool", "offset", "atan2", "inf", "nan")
)

// promMetricRefs extracts from a PromQL expression the metrics it selects
// (with their matchers' label names) and the label names of its by, without,
// on, ignoring and group_left/right lists. It is a tokenizer, not a parser:
// strings, comments, ranges and durations are skipped; an identifier that is
// neither a function nor a keyword is a metric name. It refuses unbalanced
// brackets, unknown functions, Grafana variables outside strings and ranges,
// and selectors with no metric name.
func promMetricRefs(expr string) (refs []metricRef, groupLabels []string, err error) {
	s := expr
	i, depth := 0, 0
	skipSpace := func() {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
	}
	ident := func() string {
		j := i
		for i < len(s) && (isIdentStart(s[i]) || s[i] >= '0' && s[i] <= '9') {
			i++
		}
		return s[j:i]
	}
	str := func() error { // at a quote
		q := s[i]
		for i++; i < len(s); i++ {
			switch {
			case s[i] == '\\' && q != '`':
				i++
			case s[i] == q:
				i++
				return nil
			}
		}
		return fmt.Errorf("unterminated string")
	}
	// matchers parses {name op "value", ...} at '{'.
	matchers := func() (names []string, metricName string, err error) {
		for i++; ; {
			skipSpace()
			if i < len(s) && s[i] == ',' {
				i++
				skipSpace()
			}
			if i >= len(s) {
				return nil, "", fmt.Errorf("unterminated label matchers")
			}
			if s[i] == '}' {
				i++
				return names, metricName, nil
			}
			if !isIdentStart(s[i]) {
				return nil, "", fmt.Errorf("unexpected %q in label matchers", s[i])
			}
			name := ident()
			skipSpace()
			op := i
			for i < len(s) && strings.ContainsRune("=!~", rune(s[i])) {
				i++
			}
			o := s[op:i]
			if o != "=" && o != "!=" && o != "=~" && o != "!~" {
				return nil, "", fmt.Errorf("bad matcher operator %q after %s", o, name)
			}
			skipSpace()
			if i >= len(s) || !strings.ContainsRune("\"'`", rune(s[i])) {
				return nil, "", fmt.Errorf("label %s: value is not a string", name)
			}
			v := i
			if err := str(); err != nil {
				return nil, "", err
			}
			names = append(names, name)
			if name == "__name__" && o == "=" {
				metricName = s[v+1 : i-1]
			}
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			if err := str(); err != nil {
				return nil, nil, err
			}
		case c >= '0' && c <= '9' || c == '.':
			// Numbers and durations (5m, 1h30m, 1e3).
			for i < len(s) && (isIdentStart(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
		case c == '[':
			// A range or subquery: durations and Grafana's $__rate_interval.
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated [")
			}
			i += j + 1
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return nil, nil, fmt.Errorf("unbalanced )")
			}
			i++
		case c == '{':
			labels, name, err := matchers()
			if err != nil {
				return nil, nil, err
			}
			if name == "" {
				return nil, nil, fmt.Errorf("selector without a metric name")
			}
			refs = append(refs, metricRef{name: name, labels: labels})
		case isIdentStart(c):
			word := ident()
			skipSpace()
			next := byte(0)
			if i < len(s) {
				next = s[i]
			}
			lower := strings.ToLower(word)
			switch {
			case promLabelListKeywords[word]:
				if next != '(' {
					if strings.HasPrefix(word, "group_") {
						continue
					}
					return nil, nil, fmt.Errorf("%s without a label list", word)
				}
				end := strings.IndexByte(s[i:], ')')
				if end < 0 {
					return nil, nil, fmt.Errorf("unterminated %s (", word)
				}
				for _, l := range strings.Split(s[i+1:i+end], ",") {
					if l = strings.TrimSpace(l); l != "" {
						groupLabels = append(groupLabels, l)
					}
				}
				i += end + 1
			case promKeywords[lower]:
			case promAggregators[word]:
				// sum (...), sum by (...) (...), sum without (...) (...)
				if next != '(' && !strings.HasPrefix(s[i:], "by") && !strings.HasPrefix(s[i:], "without") {
					return nil, nil, fmt.Errorf("%s is an aggregation, not a metric", word)
				}
			case promFunctions[word]:
				if next != '(' {
					return nil, nil, fmt.Errorf("%s is a function, not a metric", word)
				}
			case next == '(':
				return nil, nil, fmt.Errorf("unknown function %s", word)
			default:
				ref := metricRef{name: word}
				if next == '{' {
					labels, name, err := matchers()
					if err != nil {
						return nil, nil, err
					}
					if name != "" {
						return nil, nil, fmt.Errorf("%s: metric named twice", word)
					}
					ref.labels = labels
				}
				refs = append(refs, ref)
			}
		case strings.IndexByte("+-*/%^=!<>,@:", c) >= 0:
			i++
		default:
			return nil, nil, fmt.Errorf("unexpected %q at offset %d", c, i)
		}
	}
	if depth != 0 {
		return nil, nil, fmt.Errorf("unbalanced (")
	}
	return refs, groupLabels, nil
}

// histogramFamily strips a histogram series suffix: x_bucket, x_sum and
// x_count are x.
func histogramFamily(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(series, suffix); ok {
			return f
		}
	}
	return series
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

// variableQuery is the PromQL a Grafana query variable runs:
// label_values(selector, label) or query_result(expr).
var labelValuesRe = regexp.MustCompile(`^\s*(label_values|query_result)\((.*?)(?:,\s*([A-Za-z_][A-Za-z0-9_]*))?\)\s*$`)

func variableQuery(raw json.RawMessage) (string, error) {
	var q string
	if err := json.Unmarshal(raw, &q); err != nil {
		var obj struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", fmt.Errorf("query %s: %v", raw, err)
		}
		q = obj.Query
	}
	m := labelValuesRe.FindStringSubmatch(q)
	if m == nil {
		return "", fmt.Errorf("query %q: only label_values(selector, label) and query_result(expr) are checked", q)
	}
	if m[1] == "label_values" && m[3] == "" {
		return "", fmt.Errorf("query %q: label_values without a selector names no metric", q)
	}
	if m[1] == "label_values" {
		// The label whose values it lists must exist too: check it as a
		// grouping label.
		return fmt.Sprintf("group by (%s) (%s)", m[3], m[2]), nil
	}
	return m[2], nil
}

type alertGroup struct {
	Name  string      `yaml:"name"`
	Rules []alertRule `yaml:"rules"`
}

type alertRule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

func loadAlertRules(t *testing.T) []alertGroup {
	t.Helper()
	f, err := os.Open(repoFile(alertsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc struct {
		Groups []alertGroup `yaml:"groups"`
	}
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true) // a misspelled key (anotations:) is an error
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return doc.Groups
}

type dashboard struct {
	Title         string           `json:"title"`
	UID           string           `json:"uid"`
	SchemaVersion int              `json:"schemaVersion"`
	Panels        []dashboardPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	ID          int              `json:"id"`
	Type        string           `json:"type"`
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Datasource  map[string]any   `json:"datasource"`
	Panels      []dashboardPanel `json:"panels"` // a collapsed row's
	Targets     []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource map[string]any `json:"datasource"`
	} `json:"targets"`
}

func (d *dashboard) allPanels() []dashboardPanel {
	var out []dashboardPanel
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	b, err := os.ReadFile(repoFile(dashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &d
}

func usesDatasourceVar(ds map[string]any) bool {
	uid, _ := ds["uid"].(string)
	return uid == "${datasource}" || uid == "$datasource"
}

func setOf(words ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		m[w] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
