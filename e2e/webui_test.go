package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/webhookd/webhookd/e2e/rig"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWebUIFindsDeliveriesByWebhookId loads the Temporal Web UI of `webhookd
// dev` in headless Chromium and finds a webhook's deliveries through the
// WebhookId search attribute, as the README tells operators to. With
// WEBHOOKD_SCREENSHOT_DIR set it also saves the screenshot the README shows.
func TestWebUIFindsDeliveriesByWebhookId(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("WEBHOOKD_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is not installed (apt-get install chromium); CI requires this test")
		}
		t.Skip("chromium is not installed; .ci/run installs it")
	}
	env := rig.DevEnv(t, t.TempDir())
	p := rig.StartDev(t, env)
	p.Ready(t)

	ok := rig.NewRecorder(t, rig.Always(200))
	failing := rig.NewRecorder(t, rig.Always(500))
	api := "http://" + p.API + "/api/v1"
	mk := func(name, endpoint string) string {
		code, body := rig.HTTPDo(t, "POST", api+"/webhooks", fmt.Sprintf(
			`{"name":%q,"webhookType":"Generic","eventFilters":[{"eventType":"order.*"}],"webhookConfig":{"endpoint":%q}}`, name, endpoint))
		if code != 201 {
			t.Fatalf("create %s: %d %s", name, code, body)
		}
		var w map[string]any
		json.Unmarshal([]byte(body), &w)
		return w["id"].(string)
	}
	okID, failingID := mk("orders", ok.URL), mk("billing", failing.URL)
	var deliveries = map[string]string{} // webhook id -> delivery id
	for i := range 2 {
		code, body := rig.HTTPDo(t, "POST", api+"/events", fmt.Sprintf(`{"id":"evt-ui-%d","type":"order.paid","data":{"orderId":%d}}`, i, i))
		if code != 202 {
			t.Fatalf("post event: %d %s", code, body)
		}
		var ans rig.Ingested
		json.Unmarshal([]byte(body), &ans)
		for _, d := range ans.Deliveries {
			deliveries[d.WebhookID] = d.ID
		}
	}
	failing.WaitHits(t, 2, 15*time.Second)
	ok.WaitHits(t, 2, 15*time.Second)

	query := fmt.Sprintf(`WebhookId = %q AND DeliveryStatus = "awaitingRetry"`, failingID)
	page := "http://" + p.UI + "/namespaces/default/workflows?query=" + url.QueryEscape(query)
	deadline := time.Now().Add(60 * time.Second)
	for {
		dom := chromium(t, browser, "--dump-dom", page)
		if strings.Contains(dom, "delivery-"+deliveries[failingID]) {
			if strings.Contains(dom, "delivery-"+deliveries[okID]) {
				t.Fatalf("the WebhookId filter shows another webhook's delivery")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Web UI never listed delivery-%s for %s; page text:\n%.2000s", deliveries[failingID], query, dom)
		}
		time.Sleep(time.Second)
	}
	if dir := os.Getenv("WEBHOOKD_SCREENSHOT_DIR"); dir != "" {
		out, _ := filepath.Abs(filepath.Join(dir, "webui-deliveries.png"))
		chromium(t, browser, "--screenshot="+out, "http://"+p.UI+"/namespaces/default/workflows?query="+url.QueryEscape(fmt.Sprintf(`WebhookId = %q`, failingID)))
		t.Logf("screenshot: %s", out)
	}
}

// chromium runs headless Chromium once with the flags this machine needs
// (no sandbox as root, no background networking on a closed network).
func chromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,900", "--virtual-time-budget=10000"}
	out, err := exec.CommandContext(ctx, browser, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}
