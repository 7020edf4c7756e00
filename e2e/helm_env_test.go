package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/webhookd/webhookd/internal/config"
)

// TestHelmChartVariables: every environment variable the Helm chart sets is
// one webhookd reads (the chart's own check, deploy/helm/chartcheck, runs in
// a module of its own and cannot see internal/config).
func TestHelmChartVariables(t *testing.T) {
	files, err := filepath.Glob(repoFile("deploy/helm/webhookd/templates/*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no chart templates: %v", err)
	}
	envName := regexp.MustCompile(`(?m)^\s*- name: ([A-Z][A-Z0-9_]*)\s*$`)
	seen := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envName.FindAllStringSubmatch(string(raw), -1) {
			seen++
			if !slices.Contains(config.Vars, m[1]) {
				t.Errorf("%s sets %s, which webhookd does not read", filepath.Base(f), m[1])
			}
		}
	}
	if seen < 10 {
		t.Fatalf("found only %d variables in the chart: has its layout changed?", seen)
	}
}
