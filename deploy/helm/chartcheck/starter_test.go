package chartcheck

import (
	"regexp"
	"strings"
	"testing"
)

// TestOutboxStarterLeftToWebhookd: the chart's default, auto, is also
// webhookd's, so the pods get no OUTBOX_STARTER and an image of an earlier
// release (which refuses auto) keeps its own default; any other value
// reaches both Deployments.
func TestOutboxStarterLeftToWebhookd(t *testing.T) {
	vals := loadValues(t, chartDir+"/ci/minimal-values.yaml")
	release, err := render(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(release.Manifest, "OUTBOX_STARTER") {
		t.Errorf("the default (auto) renders OUTBOX_STARTER; an earlier image would refuse it")
	}
	vals["config"] = map[string]any{"outboxStarter": "api"}
	if release, err = render(t, vals); err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`- name: OUTBOX_STARTER\s+value: "api"`).FindAllString(release.Manifest, -1)); n != 2 {
		t.Errorf("outboxStarter api reaches %d Deployments, want 2 (api and worker)", n)
	}
}
