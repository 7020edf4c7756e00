package chartcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestWorkflowCacheSize: config.workflowCacheSize reaches every process that
// delivers (the worker, and the api when it runs a worker) as
// WORKFLOW_CACHE_SIZE, with webhookd's default; one below
// config.workerConcurrency, which webhookd would refuse at start-up, fails
// the render and names the value.
func TestWorkflowCacheSize(t *testing.T) {
	for _, c := range []struct {
		file, want string
	}{
		{chartDir + "/ci/minimal-values.yaml", "1000"},
		{chartDir + "/ci/full-values.yaml", "2000"},
	} {
		r := renderStrict(t, c.file)
		for _, d := range []string{name("-api"), name("-worker")} {
			o, ok := r.find("Deployment", d)
			if !ok {
				t.Fatalf("%s: no Deployment %s", c.file, d)
			}
			v, ok := env(o.value.(*appsv1.Deployment).Spec.Template.Spec.Containers[0], "WORKFLOW_CACHE_SIZE")
			if !ok || v.Value != c.want {
				t.Errorf("%s: %s has WORKFLOW_CACHE_SIZE %q (set: %v), want %s", c.file, d, v.Value, ok, c.want)
			}
		}
	}

	vals := loadValues(t, chartDir+"/ci/minimal-values.yaml")
	vals["config"] = map[string]any{"workerConcurrency": 300, "workflowCacheSize": 200}
	if _, err := render(t, vals); err == nil || !strings.Contains(err.Error(), "config.workflowCacheSize") {
		t.Errorf("a cache smaller than the concurrency: helm template gave %v, want an error naming config.workflowCacheSize", err)
	}
	vals["config"] = map[string]any{"workflowCacheSize": -1}
	if _, err := render(t, vals); err == nil || !strings.Contains(err.Error(), "workflowCacheSize") {
		t.Errorf("a cache of -1: helm template gave %v, want an error naming workflowCacheSize", err)
	}
}

// TestWorkflowCacheSizeFollowsConcurrency: a release that raised
// config.workerConcurrency above 1,000 and never set workflowCacheSize
// (every release before the value existed) renders, with a cache of
// workerConcurrency, as webhookd's own default is: the chart's default must
// not turn a valid upgrade into a render failure.
func TestWorkflowCacheSizeFollowsConcurrency(t *testing.T) {
	raw, err := os.ReadFile(chartDir + "/ci/minimal-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(file, append(raw, "config:\n  workerConcurrency: 2000\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	r := renderStrict(t, file)
	for _, d := range []string{name("-api"), name("-worker")} {
		o, ok := r.find("Deployment", d)
		if !ok {
			t.Fatalf("no Deployment %s", d)
		}
		v, ok := env(o.value.(*appsv1.Deployment).Spec.Template.Spec.Containers[0], "WORKFLOW_CACHE_SIZE")
		if !ok || v.Value != "2000" {
			t.Errorf("%s has WORKFLOW_CACHE_SIZE %q (set: %v), want 2000 (webhookd's default: workerConcurrency when above 1,000)", d, v.Value, ok)
		}
	}
}
