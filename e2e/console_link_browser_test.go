package e2e

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/webhookd/webhookd/e2e/rig"
)

// TestSignInLinkFromAnotherSiteAsksFirst drives Chromium through a login
// CSRF: the admin is signed in, and a page on another site (localhost is
// another site than 127.0.0.1) sends the browser to a tenant's sign-in
// link. The browser withholds the SameSite=Strict session cookie from that
// navigation; the console's own second step sees it and asks instead of
// swapping the session. Pressing the button switches.
func TestSignInLinkFromAnotherSiteAsksFirst(t *testing.T) {
	browser := requireChromium(t)
	const admin = "console-admin-token"
	st := rig.NewStackWith(t, rig.Options{APIToken: admin, TenantKey: "console-test-tenant-key-0123456789abcdef"})
	var minted struct{ Token string }
	if code := st.Call("POST", "/api/v1/tenants/acme/tokens", map[string]any{"ttlSeconds": 3600}, &minted); code != 201 {
		t.Fatalf("mint: %d", code)
	}
	base := st.API.URL + "/console"
	link := base + "/?token=" + minted.Token
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><p>elsewhere</p><script>location.href = ` + strconv.Quote(link) + `;</script>`))
	}))
	defer evil.Close()
	elsewhere := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	p := newPage(t, browser, 1280, 900)
	p.open(base + "/sign-in")
	p.run("sign in as the admin", chromedp.SendKeys(chromedp.CSS("#token"), admin),
		chromedp.Click(chromedp.CSS(`form[action="/console/sign-in"] button`)))
	p.waitPath("/console/webhooks")

	p.open(elsewhere + "/")
	p.waitPath("/console/sign-in-link")
	if body := p.text("main"); !strings.Contains(body, "You are signed in as the admin") || !strings.Contains(body, "is for tenant acme") {
		t.Fatalf("no confirmation after the other site's link:\n%s", body)
	}
	if loc := p.location(); strings.Contains(loc, minted.Token) {
		t.Fatalf("the token stayed in the address bar: %s", loc)
	}
	p.open(base + "/webhooks")
	p.waitPath("/console/webhooks")
	if who := p.text(".who"); !strings.Contains(who, "Admin") {
		t.Fatalf("the link replaced the admin's session: %q", who)
	}

	p.open(elsewhere + "/")
	p.waitPath("/console/sign-in-link")
	p.run("switch", chromedp.Click(chromedp.CSS(`form[action="/console/switch"] button`)))
	p.waitPath("/console/webhooks")
	if who := p.text(".who"); !strings.Contains(who, "Tenant acme") {
		t.Fatalf("after switching: %q", who)
	}
}
