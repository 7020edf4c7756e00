package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/webhookd/webhookd/e2e/rig"
)

// requireChromium returns Debian's chromium, or skips (fails where CI
// requires the browser tests: WEBHOOKD_REQUIRE_BROWSER).
func requireChromium(t *testing.T) string {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("WEBHOOKD_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is not installed (apt-get install chromium); CI requires this test")
		}
		t.Skip("chromium is not installed; .ci/run installs it")
	}
	return browser
}

// page drives one headless Chromium tab.
type page struct {
	t   *testing.T
	ctx context.Context
}

func newPage(t *testing.T, browser string, width, height int) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(width, height))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a deadline
		t.Fatal(err)
	}
	return &page{t: t, ctx: ctx}
}

// run runs steps with a deadline, failing the test with what was asked.
func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fatal(what, err)
	}
}

// get runs one action that returns a value.
func get[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.fatal(what, err)
	}
	return v
}

func (p *page) fatal(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	p.t.Fatalf("%s: %v\npage text:\n%.3000s", what, err, body)
}

func (p *page) open(url string) {
	p.t.Helper()
	p.run("open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

func (p *page) text(sel string) string {
	p.t.Helper()
	return get(p, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (p *page) location() string {
	p.t.Helper()
	return get(p, "read the location", chromedp.Location())
}

// waitPath waits until the tab has navigated to path and the page is
// loaded: a step that navigates (a meta refresh, a form post) returns
// before the next page is there.
func (p *page) waitPath(path string) {
	p.t.Helper()
	check := `location.pathname === ` + strconv.Quote(path) +
		` && document.readyState === 'complete' && document.querySelector('.who') !== null`
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Evaluating during a navigation fails (its JavaScript context is
		// gone); that is a "not yet".
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		there, err := chromedp.Run(ctx, chromedp.Evaluate[bool](check))
		cancel()
		if err == nil && there {
			return
		}
		if time.Now().After(deadline) {
			p.fatal("wait for "+path, fmt.Errorf("still at %s (%v)", p.location(), err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText reloads url until sel's text contains want.
func (p *page) waitText(url, sel, want string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		p.open(url)
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s never showed %q in %s (last: %q, %v)", url, want, sel, got, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// checkLabels fails if a form control of the page has no label: every
// field must be announced by a screen reader.
func (p *page) checkLabels(name string) {
	p.t.Helper()
	unlabelled := get(p, "check labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name || e.id)`))
	if len(unlabelled) > 0 {
		p.t.Errorf("%s: fields without a label: %v", name, unlabelled)
	}
}

// screenshot saves the page as docs/<name>.png when
// WEBHOOKD_SCREENSHOT_DIR is set (the README shows them).
func (p *page) screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv("WEBHOOKD_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png := get(p, "screenshot "+name, chromedp.FullScreenshot(100))
	out := filepath.Join(dir, name+".png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", out)
}

// TestConsoleInABrowser walks the console as a product's customer would,
// in headless Chromium against a real Temporal server and PostgreSQL: a
// tenant sign-in link (the token leaves the address bar), test before
// saving, create, test, an event's row in the history, resend, and "replay
// all" draining the dead-letter queue; another tenant's webhook and dead
// letter never show.
func TestConsoleInABrowser(t *testing.T) {
	browser := requireChromium(t)
	const admin = "console-admin-token"
	st := rig.NewStackWith(t, rig.Options{RetryDelays: []time.Duration{200 * time.Millisecond},
		APIToken: admin, TenantKey: "console-test-tenant-key-0123456789abcdef"})
	ok := rig.NewRecorder(t, rig.Always(200))
	flaky := rig.NewRecorder(t, func(n int) int {
		if n <= 2 {
			return 500
		}
		return 200
	})
	broken := rig.NewRecorder(t, rig.Always(500))

	// Tenant beta's webhook and dead letter, which acme must never see.
	var beta map[string]any
	if code := st.Call("POST", "/api/v1/webhooks", map[string]any{"tenantId": "beta", "name": "beta-private-hook", "webhookType": "Generic",
		"eventFilters": []any{map[string]any{"eventType": "*"}}, "webhookConfig": map[string]any{"endpoint": broken.URL}}, &beta); code != 201 {
		t.Fatalf("beta's webhook: %d %v", code, beta)
	}
	var betaEvent rig.Ingested
	st.Call("POST", "/api/v1/events", map[string]any{"tenantId": "beta", "id": "evt-beta", "type": "billing.failed"}, &betaEvent)
	st.WaitDelivery(betaEvent.Deliveries[0].ID, "failed", 20*time.Second)

	var minted struct{ Token string }
	if code := st.Call("POST", "/api/v1/tenants/acme/tokens", map[string]any{"ttlSeconds": 3600}, &minted); code != 201 {
		t.Fatalf("mint: %d", code)
	}
	base := st.API.URL + "/console"
	p := newPage(t, browser, 1280, 900)

	// The link a product gives its customer.
	p.open(base + "/?token=" + minted.Token)
	p.waitPath("/console/webhooks")
	if loc := p.location(); loc != base+"/webhooks" || strings.Contains(loc, minted.Token) {
		t.Fatalf("after the sign-in link the address is %s", loc)
	}
	if who := p.text(".who"); !strings.Contains(who, "Tenant acme") {
		t.Fatalf("signed in as %q", who)
	}

	// acme's catalog: a strict type with an example, listed with its
	// markers; its page shows the schema and the example.
	var invoiceType map[string]any
	if code := st.Call("POST", "/api/v1/event-types", map[string]any{"tenantId": "acme", "name": "invoice.paid",
		"description": "An invoice was paid in full.", "validate": true,
		"schema": map[string]any{"type": "object", "required": []string{"invoiceId", "amount"},
			"properties": map[string]any{"invoiceId": map[string]any{"type": "string"}, "amount": map[string]any{"type": "number"}}},
		"examples": []any{map[string]any{"invoiceId": "in_1", "amount": 120.5}}}, &invoiceType); code != 201 {
		t.Fatalf("event type: %d %v", code, invoiceType)
	}
	p.open(base + "/event-types")
	if body := p.text("main"); !strings.Contains(body, "invoice.paid") || !strings.Contains(body, "strict") || !strings.Contains(body, "webhookd.webhook.failing") {
		t.Fatalf("event types page:\n%s", body)
	}
	p.checkLabels("event types")
	p.screenshot("console-event-types")
	p.open(base + "/event-types/" + invoiceType["id"].(string))
	if body := p.text("main"); !strings.Contains(body, `"required": [`) || !strings.Contains(body, `"invoiceId": "in_1"`) {
		t.Fatalf("event type page:\n%s", body)
	}
	p.screenshot("console-event-type")
	p.open(base + "/webhooks")

	// New webhook: a content filter the compiler refuses shows its message
	// under the field; then test before saving (nothing stored), and create.
	p.run("open the form", chromedp.Click(chromedp.CSS(`a[href="/console/webhooks/new"]`)), chromedp.WaitVisible(chromedp.CSS(`#name`)))
	p.checkLabels("new webhook")
	p.run("fill the form",
		chromedp.SendKeys(chromedp.CSS(`#name`), "orders"),
		chromedp.SendKeys(chromedp.CSS(`#endpoint`), ok.URL+"/orders"),
		chromedp.SetValue(chromedp.CSS(`#eventTypes`), "order.*"),
		chromedp.Click(chromedp.CSS(`input[name=catalogType][value="invoice.paid"]`)),
		chromedp.SetValue(chromedp.CSS(`#filter`), "data.amount >"),
		chromedp.Click(chromedp.CSS(`.webhook-form .actions button[type=submit]:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(`#filter-error`)))
	if got := p.text(`#filter-error`); !strings.HasPrefix(got, "line 1, column 14: ") {
		t.Fatalf("the content filter's error reads %q", got)
	}
	p.run("fix the filter and test before saving",
		chromedp.SetValue(chromedp.CSS(`#filter`), "data.amount > 100"),
		chromedp.Click(chromedp.CSS(`button[formaction="/console/webhooks/test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#test-result [data-test=status]`)))
	if got := p.text(`#test-result [data-test=status]`); got != "200" || ok.Count() != 1 {
		t.Fatalf("test before saving shows %q, receiver hits %d", got, ok.Count())
	}
	var none struct{ Paging struct{ Total int } }
	st.Call("GET", "/api/v1/webhooks?tenantId=acme", nil, &none)
	if none.Paging.Total != 0 {
		t.Fatal("test before saving stored the webhook")
	}
	p.run("create", chromedp.Click(chromedp.CSS(`.webhook-form .actions button[type=submit]:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret-value`)))
	secret := get(p, "read the secret", chromedp.Value(chromedp.CSS(`#secret-value`)))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the new webhook's secret shows as %q", secret)
	}
	hookID := strings.TrimPrefix(p.location(), base+"/webhooks/")
	var hooks struct {
		Data []struct{ ID, Name string }
	}
	st.Call("GET", "/api/v1/webhooks?tenantId=acme", nil, &hooks)
	if len(hooks.Data) != 1 || hooks.Data[0].Name != "orders" {
		t.Fatalf("acme's webhooks after create: %+v", hooks)
	}
	hookID = hooks.Data[0].ID
	p.open(base + "/webhooks/" + hookID)
	p.checkLabels("edit webhook")
	if checked := get(p, "the catalog type is ticked", chromedp.Evaluate[bool](`document.querySelector('input[name=catalogType][value="invoice.paid"]').checked`)); !checked {
		t.Fatal("the saved webhook's catalog type is not ticked")
	}
	// The test sends the type's example (as stored: this test wrote it
	// from a Go map, keys sorted).
	p.run("send the type's example", chromedp.SetValue(chromedp.CSS(`#exampleType`), "invoice.paid"),
		chromedp.Click(chromedp.CSS(`button[formaction$="/test"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#test-result [data-test=status]`)))
	last := string(ok.Get(ok.Count() - 1).Body)
	if got := p.text(`#test-result [data-test=status]`); got != "200" || !strings.Contains(last, `"data":{"amount":120.5,"invoiceId":"in_1"}`) {
		t.Fatalf("Test shows %q; the receiver got %s", got, last)
	}
	p.screenshot("console-webhook")

	// An event arrives: its row appears in the history.
	var ev rig.Ingested
	st.Call("POST", "/api/v1/events", map[string]any{"tenantId": "acme", "id": "evt-console-1", "type": "order.created", "data": map[string]any{"amount": 150}}, &ev)
	history := base + "/webhooks/" + hookID + "/deliveries"
	p.waitText(history, "tbody", "order.created", 20*time.Second)
	p.waitText(history, "tbody tr:first-child", "succeeded", 20*time.Second)
	p.checkLabels("delivery history")
	p.screenshot("console-deliveries")

	// Resend adds an attempt.
	detail := base + "/deliveries/" + ev.Deliveries[0].ID
	p.open(detail)
	p.run("resend", chromedp.Click(chromedp.CSS(`form[action$="/resend"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	// The page follows the new attempt by itself (htmx), newest first.
	p.run("resend's attempt appears", chromedp.Poll[chromedp.Void](
		`document.querySelector('#live h3') && document.querySelector('#live h3').id === 'attempt-2' && !document.querySelector('#live[aria-busy]')`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if body := p.text(`#body-main`); !strings.Contains(body, `"id": "evt-console-1"`) {
		t.Fatalf("request body on the delivery page: %q", body)
	}
	if ok.Count() < 4 { // test before save, test, the event, the resend
		t.Fatalf("receiver hits %d after the resend", ok.Count())
	}
	p.screenshot("console-delivery")

	// A delivery that fails twice lands in the dead-letter queue;
	// "Replay all" drains it.
	var flakyHook map[string]any
	st.Call("POST", "/api/v1/webhooks", map[string]any{"tenantId": "acme", "name": "billing", "webhookType": "Generic",
		"eventFilters": []any{map[string]any{"eventType": "billing.*"}}, "webhookConfig": map[string]any{"endpoint": flaky.URL}}, &flakyHook)
	var failing rig.Ingested
	st.Call("POST", "/api/v1/events", map[string]any{"tenantId": "acme", "id": "evt-console-2", "type": "billing.failed"}, &failing)
	st.WaitDelivery(failing.Deliveries[0].ID, "failed", 20*time.Second)
	p.open(base + "/dlq")
	if got := p.text(`[data-test=matched]`); got != "1 failed delivery matches" {
		t.Fatalf("DLQ preview: %q", got)
	}
	if body := p.text("main"); strings.Contains(body, betaEvent.Deliveries[0].ID) || strings.Contains(body, "evt-beta") {
		t.Fatal("acme's dead-letter queue shows beta's delivery")
	}
	p.checkLabels("dead-letter queue")
	p.screenshot("console-dlq")
	p.run("replay all", chromedp.Click(chromedp.CSS(`form[action="/console/dlq/replay"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=confirm-count]`)))
	if got := p.text(`[data-test=confirm-count]`); !strings.HasPrefix(got, "1 failed delivery matches") {
		t.Fatalf("Replay all asks: %q", got)
	}
	p.run("confirm replay all", chromedp.Click(chromedp.CSS(`form[method="post"][action="/console/dlq/replay"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#progress`)))
	// htmx follows the job; no reload.
	p.run("replay finishes", chromedp.Poll[chromedp.Void](`document.querySelector('[data-test=job-status]').textContent.includes('completed')`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if got := p.text(`[data-test=job-status]`); !strings.Contains(got, "1 replayed") {
		t.Fatalf("job: %q", got)
	}
	p.screenshot("console-replay")
	st.WaitDelivery(failing.Deliveries[0].ID, "succeeded", 20*time.Second)
	p.open(base + "/dlq")
	if got := p.text(`[data-test=matched]`); got != "0 failed deliveries match" {
		t.Fatalf("DLQ after replay: %q", got)
	}

	// Never another tenant's webhook, listed or by address.
	p.open(base + "/webhooks")
	if body := p.text("main"); strings.Contains(body, "beta-private-hook") || !strings.Contains(body, "orders") {
		t.Fatalf("acme's webhooks page:\n%s", body)
	}
	p.checkLabels("webhooks")
	p.screenshot("console-webhooks")
	p.open(base + "/webhooks/" + beta["id"].(string))
	if h := p.text("h1"); h != "Not found" {
		t.Fatalf("beta's webhook by address shows %q", h)
	}

	// The admin's view, for the README: sign-in page and tenants.
	p.run("sign out", chromedp.Click(chromedp.CSS(`.who button`)), chromedp.WaitVisible(chromedp.CSS(`#token`)))
	p.checkLabels("sign in")
	p.screenshot("console-signin")
	p.run("sign in as the admin", chromedp.SendKeys(chromedp.CSS(`#token`), admin), chromedp.Submit(chromedp.CSS(`#token`)))
	p.waitPath("/console/webhooks")
	p.open(base + "/tenants")
	if body := p.text("main"); !strings.Contains(body, "acme") || !strings.Contains(body, "beta") {
		t.Fatalf("tenants page:\n%s", body)
	}
	p.screenshot("console-tenants")

	// A phone's width: no page scrolls sideways (wide tables scroll in
	// their own box).
	p.run("phone width", chromedp.EmulateViewport(390, 844))
	for _, path := range []string{"/webhooks", "/webhooks/" + hookID, "/webhooks/" + hookID + "/deliveries", detail[len(base):], "/dlq", "/tenants",
		"/event-types", "/event-types/" + invoiceType["id"].(string)} {
		p.open(base + path)
		if wide := get(p, "measure "+path, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
			culprits := get(p, "find what is wide", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll')).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`))
			t.Errorf("%s is wider than a phone's screen: %v", path, culprits)
		}
	}
	p.open(base + "/webhooks/" + hookID)
	p.screenshot("console-phone")
}
