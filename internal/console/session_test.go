package console

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// sessionCookie is the browser's session cookie value.
func (f *fixture) sessionCookie(t *testing.T, c *http.Client) string {
	t.Helper()
	for _, ck := range c.Jar.Cookies(mustURL(t, f.srv.URL+"/console/")) {
		if ck.Name == cookieName {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// whoIs is who the browser's pages say is signed in, or "" when a page
// sends it to sign in.
func (f *fixture) whoIs(t *testing.T, c *http.Client, headers ...string) string {
	t.Helper()
	resp, page := do(t, c, "GET", f.srv.URL+"/console/webhooks", nil, headers...)
	if resp.StatusCode == http.StatusSeeOther {
		return ""
	}
	switch {
	case strings.Contains(page, "Tenant <strong>acme</strong>"):
		return "acme"
	case strings.Contains(page, "<span>Admin"):
		return "admin"
	}
	t.Fatalf("webhooks page: %d\n%s", resp.StatusCode, page)
	return ""
}

// TestSignOutRevokesACopiedCookie: after sign-out, a copy of the session
// cookie (taken from the browser, a proxy log, a stolen laptop) no longer
// signs anyone in, while other sessions go on.
func TestSignOutRevokesACopiedCookie(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	csrf := f.signIn(t, c, adminTok)
	copied := f.sessionCookie(t, c)
	other := f.browser(t)
	f.signIn(t, other, adminTok)

	if got := f.whoIs(t, f.browser(t), "Cookie", cookieName+"="+copied); got != "admin" {
		t.Fatalf("the copy before sign-out: %q", got)
	}
	if resp, _ := do(t, c, "POST", f.srv.URL+"/console/sign-out", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	before := f.api.count("GET /api/v1/webhooks")
	thief := f.browser(t)
	if got := f.whoIs(t, thief, "Cookie", cookieName+"="+copied); got != "" {
		t.Fatalf("a copied cookie still signs in as %q after sign-out", got)
	}
	// Nor does it act: a POST with the copy and its CSRF token is refused.
	resp, _ := do(t, thief, "POST", f.srv.URL+"/console/webhooks/w1/pause", url.Values{"csrf": {csrf}}, "Cookie", cookieName+"="+copied)
	if resp.StatusCode != http.StatusForbidden || f.api.count("POST") != 0 || f.api.count("GET /api/v1/webhooks") != before {
		t.Fatalf("the copy acted after sign-out: %d, calls %v", resp.StatusCode, f.api.calls)
	}
	if got := f.whoIs(t, other); got != "admin" {
		t.Fatalf("another session ended with this one: %q", got)
	}
}

// TestOneRevocationReadPerRequest: telling a live session from a signed-out
// one costs one read per console request, none without a session cookie.
func TestOneRevocationReadPerRequest(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	f.signIn(t, c, adminTok)
	for _, path := range []string{"/console/webhooks", "/console/dlq", "/console/", "/console/sign-in"} {
		before := f.revoked.readCount()
		do(t, c, "GET", f.srv.URL+path, nil)
		if n := f.revoked.readCount() - before; n > 1 {
			t.Errorf("GET %s read the revocation list %d times", path, n)
		}
	}
	before := f.revoked.readCount()
	do(t, f.browser(t), "GET", f.srv.URL+"/console/webhooks", nil)
	if n := f.revoked.readCount() - before; n != 0 {
		t.Errorf("a request without a session read the revocation list %d times", n)
	}
}

// TestSignInLinkAsksBeforeReplacingASession: a sign-in link another site
// sends to a browser signed in as someone else does not swap the session
// (login CSRF); it asks, and only the console's own form, with the current
// session's CSRF token, switches.
func TestSignInLinkAsksBeforeReplacingASession(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	csrf := f.signIn(t, c, adminTok)
	adminCookie := f.sessionCookie(t, c)

	resp, page := f.followLink(t, c, tenantTok)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You are signed in as <strong>the admin</strong>") ||
		!strings.Contains(page, "is for <strong>tenant acme</strong>") || !strings.Contains(page, `action="/console/switch"`) ||
		strings.Contains(page, tenantTok) {
		t.Fatalf("following another principal's link: %d\n%s", resp.StatusCode, page)
	}
	if got := f.whoIs(t, c); got != "admin" {
		t.Fatalf("the link replaced the session before anyone agreed: %q", got)
	}
	// Another site cannot press the button: no CSRF token, or a foreign origin.
	for name, tc := range map[string]struct {
		form    url.Values
		headers []string
	}{
		"no token":       {url.Values{}, nil},
		"another origin": {url.Values{"csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
	} {
		if resp, _ := do(t, c, "POST", f.srv.URL+"/console/switch", tc.form, tc.headers...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if got := f.whoIs(t, c); got != "admin" {
		t.Fatalf("a forged switch replaced the session: %q", got)
	}
	// The user's own click switches, and ends the admin session for good.
	resp, _ = do(t, c, "POST", f.srv.URL+"/console/switch", url.Values{"csrf": {csrf}}, "Origin", f.srv.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/webhooks" {
		t.Fatalf("switch: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.whoIs(t, c); got != "acme" {
		t.Fatalf("after switching: %q", got)
	}
	if got := f.whoIs(t, f.browser(t), "Cookie", cookieName+"="+adminCookie); got != "" {
		t.Fatalf("the replaced admin session still works: %q", got)
	}
	// The link is used up.
	if resp, _ := do(t, c, "GET", f.srv.URL+"/console/sign-in-link", nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/console/" {
		t.Fatalf("the link again: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSignInLinkOfTheSamePrincipal: a fresh link for whoever is signed in
// already just renews the session, and a bad link leaves it alone.
func TestSignInLinkOfTheSamePrincipal(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	f.signIn(t, c, tenantTok)
	old := f.sessionCookie(t, c)
	if resp, _ := f.followLink(t, c, tenantTok); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/webhooks" {
		t.Fatalf("same tenant's link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if f.sessionCookie(t, c) == old || f.whoIs(t, c) != "acme" {
		t.Fatal("the session was not renewed")
	}
	resp, page := f.followLink(t, c, "expired-or-forged")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "You are still signed in as tenant acme") {
		t.Fatalf("bad link with a session: %d\n%s", resp.StatusCode, page)
	}
	if got := f.whoIs(t, c); got != "acme" {
		t.Fatalf("a bad link ended the session: %q", got)
	}
}

// TestPastedTokenEndsThePreviousSession: signing in over a session revokes
// the one it replaces.
func TestPastedTokenEndsThePreviousSession(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	f.signIn(t, c, adminTok)
	old := f.sessionCookie(t, c)
	f.signIn(t, c, tenantTok)
	if got := f.whoIs(t, f.browser(t), "Cookie", cookieName+"="+old); got != "" {
		t.Fatalf("the replaced session still works: %q", got)
	}
}

// TestDatabaseOutageAnswers503: while the database is unreachable, a
// signed-in page (whose session's revocation read fails) answers 503 with
// Retry-After, as the API does, not 500; it works again once it is back.
func TestDatabaseOutageAnswers503(t *testing.T) {
	// The error a real store gives with its database cut off.
	pg := storetest.PostgresURL(t)
	proxy := storetest.NewProxy(t, pg)
	s := storetest.OpenURL(t, proxy.URL(pg), slog.New(slog.DiscardHandler))
	proxy.Cut()
	_, down := s.ConsoleSessionRevoked(t.Context(), "any")
	if down == nil {
		t.Fatal("control: the revocation read succeeded with the database cut off")
	}

	f := newFixture(t, false)
	c := f.browser(t)
	f.signIn(t, c, adminTok)
	f.revoked.mu.Lock()
	f.revoked.down = down
	f.revoked.mu.Unlock()
	resp, page := do(t, c, "GET", f.srv.URL+"/console/webhooks", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "database is unreachable") {
		t.Fatalf("webhooks page with the database down: %d (Retry-After %q)\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}
	f.revoked.mu.Lock()
	f.revoked.down = nil
	f.revoked.mu.Unlock()
	if resp, _ := do(t, c, "GET", f.srv.URL+"/console/webhooks", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("webhooks page once the database is back: %d", resp.StatusCode)
	}
}
