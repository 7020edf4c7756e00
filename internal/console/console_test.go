package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/secrets"
)

const (
	adminTok  = "admin-token-0123456789"
	tenantTok = "tenant-token-abcdef"
	readerTok = "tenant-token-read-only"
)

// stubAPI answers the few API routes these tests reach and records every
// call with the credential it carried.
type stubAPI struct {
	mu    sync.Mutex
	calls []string
	open  bool // no API_TOKEN: a request without credentials is the admin
	// w2 is a webhook that can be edited: its version and description, and
	// the version each PUT asked for.
	w2Version float64
	w2Desc    string
	w2Puts    []any
}

// webhookW2 answers w2 as the API reads it; the caller holds mu.
func (a *stubAPI) webhookW2() string {
	b, _ := json.Marshal(map[string]any{"id": "w2", "name": "edited", "description": a.w2Desc, "webhookType": "Generic",
		"eventFilters": []any{map[string]any{"eventType": "*"}}, "webhookConfig": map[string]any{"endpoint": "https://e.x"},
		"version": a.w2Version, "updatedBy": "api", "updatedAt": int64(1705314600000)})
	return string(b)
}

// putW2 is the API's PUT: a body whose version is not the stored one is
// refused (409, its message naming version).
func (a *stubAPI) putW2(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.w2Puts = append(a.w2Puts, body["version"])
	if v, ok := body["version"].(float64); ok && math.Round(v*10) != math.Round(a.w2Version*10) {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `{"code":"conflict","message":"version: the webhook is at version %v, not %v: it changed since it was read; read it again and retry"}`, a.w2Version, v)
		return
	}
	a.w2Version = math.Round(a.w2Version*10+1) / 10
	a.w2Desc, _ = body["description"].(string)
	io.WriteString(w, a.webhookW2())
}

func (a *stubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Host == "" {
		// As the real API: it answers only the Host names it serves, and
		// the console's calls carry the Host the browser used.
		w.WriteHeader(http.StatusMisdirectedRequest)
		return
	}
	auth := r.Header.Get("Authorization")
	a.mu.Lock()
	a.calls = append(a.calls, r.Method+" "+r.URL.Path+" "+auth)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	role := ""
	switch {
	case auth == "Bearer "+adminTok || (auth == "" && a.open):
		role = "admin"
	case auth == "Bearer "+tenantTok:
		role = "tenant"
	case auth == "Bearer "+readerTok:
		role = "reader"
	default:
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":"unauthorized","message":"missing, expired or invalid bearer token"}`)
		return
	}
	if role == "reader" && r.Method != http.MethodGet { // as the API does
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"code":"forbidden","message":"this token is read-only"}`)
		return
	}
	switch {
	case r.URL.Path == "/api/v1/whoami" && role == "reader":
		io.WriteString(w, `{"role":"tenant","tenantId":"acme","readOnly":true,"expiresAt":"2099-01-01T00:00:00Z"}`)
	case r.URL.Path == "/api/v1/dlq":
		io.WriteString(w, `{"data":[],"paging":{}}`)
	case r.URL.Path == "/api/v1/whoami" && role == "admin":
		io.WriteString(w, `{"role":"admin","readOnly":false}`)
	case r.URL.Path == "/api/v1/whoami":
		io.WriteString(w, `{"role":"tenant","tenantId":"acme","readOnly":false,"expiresAt":"2099-01-01T00:00:00Z"}`)
	case r.URL.Path == "/api/v1/webhooks" && r.Method == http.MethodGet:
		io.WriteString(w, `{"data":[],"paging":{"total":0}}`)
	case r.URL.Path == "/api/v1/deliveries/d1":
		io.WriteString(w, `{"id":"d1","tenantId":"acme","eventId":"e1","eventType":"order.created","webhookId":"w1",`+
			`"status":"failed","trigger":"scheduled","attempts":0,"createdAt":"2024-01-15T10:30:00.000Z",`+
			`"updatedAt":"2024-01-15T10:30:00.000Z","attemptLog":[]}`)
	case r.URL.Path == "/api/v1/webhooks/w1" && r.Method == http.MethodGet:
		io.WriteString(w, `{"id":"w1","name":"orders","webhookType":"Generic","eventFilters":[],"webhookConfig":{"endpoint":"https://e.x"}}`)
	case r.URL.Path == "/api/v1/webhooks/w2" && r.Method == http.MethodGet:
		a.mu.Lock()
		io.WriteString(w, a.webhookW2())
		a.mu.Unlock()
	case r.URL.Path == "/api/v1/webhooks/w2" && r.Method == http.MethodPut:
		a.putW2(w, r)
	case r.URL.Path == "/api/v1/webhooks/w2/stats":
		io.WriteString(w, `{"attempts":0}`)
	case strings.HasSuffix(r.URL.Path, "/pause"):
		io.WriteString(w, `{"id":"w1","name":"orders","paused":true}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"not_found","message":"no such thing"}`)
	}
}

func (a *stubAPI) count(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// revocations is the revocation list in memory, counting its reads.
type revocations struct {
	mu      sync.Mutex
	revoked map[string]time.Time
	reads   int
	// down, when set, is every read's error (the database unreachable).
	down error
}

func (r *revocations) RevokeConsoleSession(_ context.Context, id string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[id] = until
	return nil
}

func (r *revocations) ConsoleSessionRevoked(_ context.Context, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	if r.down != nil {
		return false, r.down
	}
	_, ok := r.revoked[id]
	return ok, nil
}

func (r *revocations) readCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

type fixture struct {
	api     *stubAPI
	revoked *revocations
	srv     *httptest.Server
	logs    *bytes.Buffer
}

func newFixture(t *testing.T, open bool, ancestors ...string) *fixture {
	t.Helper()
	keys, err := secrets.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{api: &stubAPI{open: open}, revoked: &revocations{revoked: map[string]time.Time{}}, logs: &bytes.Buffer{}}
	c, err := New(Deps{Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		API: f.api, Sealer: keys, Revocations: f.revoked, FrameAncestors: ancestors,
		WorkflowURL: func(deliveryID string) string { return "http://ui.example/workflows/delivery-" + deliveryID }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(c)
	t.Cleanup(f.srv.Close)
	return f
}

// browser is a client with a cookie jar that does not follow redirects.
func (f *fixture) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, headers ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in with a pasted token and returns the page's CSRF token.
func (f *fixture) signIn(t *testing.T, c *http.Client, token string) string {
	t.Helper()
	resp, _ := do(t, c, "POST", f.srv.URL+"/console/sign-in", url.Values{"token": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/webhooks" {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := do(t, c, "GET", f.srv.URL+"/console/webhooks", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the webhooks page:\n%s", page)
	}
	return m[1]
}

func TestSessionCookieFlags(t *testing.T) {
	f := newFixture(t, false)
	for _, https := range []bool{false, true} {
		headers := []string{}
		if https {
			headers = []string{"X-Forwarded-Proto", "https"}
		}
		resp, _ := do(t, f.browser(t), "POST", f.srv.URL+"/console/sign-in", url.Values{"token": {adminTok}}, headers...)
		var ck *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == cookieName {
				ck = c
			}
		}
		if ck == nil {
			t.Fatalf("no session cookie: %v", resp.Header)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" || ck.MaxAge <= 0 || ck.MaxAge > 12*3600 {
			t.Errorf("cookie flags: %+v", ck)
		}
		if ck.Secure != https {
			t.Errorf("Secure = %v behind https = %v", ck.Secure, https)
		}
		if strings.Contains(ck.Value, adminTok) || strings.Contains(ck.Value, base64.RawURLEncoding.EncodeToString([]byte(adminTok))) {
			t.Errorf("the cookie holds the token readably: %s", ck.Value)
		}
	}
}

// followLink follows a sign-in link as a browser does: the answer moves on
// to /console/sign-in-link by itself, where the session is decided. It
// returns that second answer.
func (f *fixture) followLink(t *testing.T, c *http.Client, token string) (*http.Response, string) {
	t.Helper()
	resp, page := do(t, c, "GET", f.srv.URL+"/console/?token="+url.QueryEscape(token), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `http-equiv="refresh" content="0; url=/console/sign-in-link"`) {
		t.Fatalf("sign-in link: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, token) || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("the answer keeps or leaks the token: %v\n%s", resp.Header, page)
	}
	return do(t, c, "GET", f.srv.URL+"/console/sign-in-link", nil)
}

func TestSignInLinkLeavesNoTokenBehind(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	resp, page := f.followLink(t, c, tenantTok)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/webhooks" || strings.Contains(page, tenantTok) {
		t.Fatalf("sign-in link, second step: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	resp, page = do(t, c, "GET", f.srv.URL+"/console/webhooks", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Tenant <strong>acme</strong>") {
		t.Fatalf("after the link: %d\n%s", resp.StatusCode, page)
	}
	// The API saw the tenant's token on each call, never the admin's.
	if f.api.count("GET /api/v1/webhooks Bearer "+tenantTok) != 1 || f.api.count("GET /api/v1/webhooks Bearer "+adminTok) != 0 {
		t.Fatalf("API calls: %v", f.api.calls)
	}
	// A bad link signs nobody in.
	c2 := f.browser(t)
	resp, _ = f.followLink(t, c2, "expired-or-forged")
	if resp.StatusCode != http.StatusUnauthorized || len(c2.Jar.Cookies(mustURL(t, f.srv.URL+"/console/"))) != 0 {
		t.Fatalf("bad link: %d, cookies %v", resp.StatusCode, c2.Jar.Cookies(mustURL(t, f.srv.URL+"/console/")))
	}
	if strings.Contains(f.logs.String(), tenantTok) || strings.Contains(f.logs.String(), "expired-or-forged") {
		t.Fatalf("a token reached the log:\n%s", f.logs)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFormsNeedTheCSRFTokenAndTheConsolesOrigin: a state-changing POST
// without the session's CSRF token, with another session's, or sent by
// another site is refused before it reaches the API.
func TestFormsNeedTheCSRFTokenAndTheConsolesOrigin(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	csrf := f.signIn(t, c, adminTok)
	other := f.signIn(t, f.browser(t), adminTok)
	if other == csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	pause := f.srv.URL + "/console/webhooks/w1/pause"
	for name, tc := range map[string]struct {
		form    url.Values
		headers []string
	}{
		"no token":             {url.Values{}, nil},
		"another session's":    {url.Values{"csrf": {other}}, nil},
		"cross-site (Fetch)":   {url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		"same-site subdomain":  {url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "same-site"}},
		"another origin":       {url.Values{"csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
		"header of a stranger": {url.Values{}, []string{"X-CSRF-Token", other}},
	} {
		resp, page := do(t, c, "POST", pause, tc.form, tc.headers...)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "out of date or was sent from another site") {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if n := f.api.count("POST /api/v1/webhooks/w1/pause"); n != 0 {
		t.Fatalf("refused forms reached the API %d times", n)
	}
	// The console's own form goes through.
	resp, _ := do(t, c, "POST", pause, url.Values{"csrf": {csrf}}, "Origin", f.srv.URL, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther || f.api.count("POST /api/v1/webhooks/w1/pause Bearer "+adminTok) != 1 {
		t.Fatalf("the console's own form: %d, calls %v", resp.StatusCode, f.api.calls)
	}
	// htmx sends it as a header.
	resp, _ = do(t, c, "POST", pause, url.Values{}, "X-CSRF-Token", csrf)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("CSRF header: %d", resp.StatusCode)
	}
}

// TestOpenAPINeedsNoSignInButStillCSRF: with no API_TOKEN (dev) the console
// signs in as the admin by itself, and a cross-site form still cannot act.
func TestOpenAPINeedsNoSignInButStillCSRF(t *testing.T) {
	f := newFixture(t, true)
	c := f.browser(t)
	resp, _ := do(t, c, "GET", f.srv.URL+"/console/", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/webhooks" {
		t.Fatalf("open API: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A forged form from another site, with no cookie at all.
	resp, _ = do(t, f.browser(t), "POST", f.srv.URL+"/console/webhooks/w1/pause", url.Values{"csrf": {"guess"}})
	if resp.StatusCode != http.StatusForbidden || f.api.count("POST") != 0 {
		t.Fatalf("forged form: %d, calls %v", resp.StatusCode, f.api.calls)
	}
}

// TestAnEndedSessionNeverBecomesTheAdmin: with an open API, a browser
// whose (tenant) session cookie no longer opens goes to the sign-in page;
// only a browser without any session is signed in as the admin.
func TestAnEndedSessionNeverBecomesTheAdmin(t *testing.T) {
	f := newFixture(t, true)
	c := f.browser(t)
	resp, _ := do(t, c, "GET", f.srv.URL+"/console/webhooks", nil, "Cookie", cookieName+"=enc:v1:k1:AAAA")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/sign-in" {
		t.Fatalf("ended session on an open API: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if f.api.count("GET /api/v1/whoami") != 0 {
		t.Fatalf("an ended session was signed in again: %v", f.api.calls)
	}
}

// TestReadOnlyTokenSeesTheDeadLetterQueue: a read-only token lists dead
// letters without the dry run (a POST the API refuses it) and without
// "Replay all".
func TestReadOnlyTokenSeesTheDeadLetterQueue(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	f.signIn(t, c, readerTok)
	resp, page := do(t, c, "GET", f.srv.URL+"/console/dlq", nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "Replay all") || !strings.Contains(page, "(read-only)") {
		t.Fatalf("read-only DLQ page: %d\n%.2000s", resp.StatusCode, page)
	}
	if n := f.api.count("POST /api/v1/dlq/replay"); n != 0 {
		t.Fatalf("the console asked the API for a dry run with a read-only token %d times", n)
	}
}

func TestSignedOutAndForgedCookies(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	resp, _ := do(t, c, "GET", f.srv.URL+"/console/webhooks", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/sign-in" {
		t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = do(t, c, "GET", f.srv.URL+"/console/webhooks", nil, "Cookie", cookieName+"=enc:v1:k1:AAAA")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d", resp.StatusCode)
	}
	resp, page := do(t, c, "POST", f.srv.URL+"/console/sign-in", url.Values{"token": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "not valid or has expired") || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}
	// Sign out clears the cookie.
	csrf := f.signIn(t, c, adminTok)
	resp, _ = do(t, c, "POST", f.srv.URL+"/console/sign-out", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	if resp, _ = do(t, c, "GET", f.srv.URL+"/console/webhooks", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", resp.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, tc := range []struct {
		ancestors []string
		want      string
		xfo       string
	}{
		{nil, "frame-ancestors 'none'", "DENY"},
		{[]string{"https://app.example.com"}, "frame-ancestors https://app.example.com", ""},
	} {
		f := newFixture(t, false, tc.ancestors...)
		resp, _ := do(t, f.browser(t), "GET", f.srv.URL+"/console/sign-in", nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, tc.want) || !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Frame-Options") != tc.xfo ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers for %v: %v", tc.ancestors, resp.Header)
		}
	}
}

// TestDeliveryLinksToItsWorkflow: a delivery's page links to its workflow
// at the address the console was given.
func TestDeliveryLinksToItsWorkflow(t *testing.T) {
	f := newFixture(t, false)
	c := f.browser(t)
	f.signIn(t, c, adminTok)
	resp, page := do(t, c, "GET", f.srv.URL+"/console/deliveries/d1", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="http://ui.example/workflows/delivery-d1"`) {
		t.Fatalf("delivery page: %d\n%.3000s", resp.StatusCode, page)
	}
}

var versionField = regexp.MustCompile(`name="version" value="([^"]*)"`)

// TestEditConflictIsShownNotLost: two people edit the same webhook; the
// second save is refused with a page that says so, keeps what was typed,
// and saves only when sent again knowingly.
func TestEditConflictIsShownNotLost(t *testing.T) {
	f := newFixture(t, false)
	f.api.w2Version, f.api.w2Desc = 0.2, "as opened"
	c := f.browser(t)
	csrf := f.signIn(t, c, adminTok)
	edit := f.srv.URL + "/console/webhooks/w2"
	_, page := do(t, c, "GET", edit, nil)
	m := versionField.FindStringSubmatch(page)
	if m == nil || m[1] != "0.2" {
		t.Fatalf("the edit form does not carry the version it shows:\n%s", page)
	}
	form := url.Values{"csrf": {csrf}, "version": {m[1]}, "name": {"edited"}, "webhookType": {"Generic"},
		"endpoint": {"https://e.x"}, "eventTypes": {"*"}, "enabled": {"on"}, "description": {"mine"}}
	// Someone else saves first.
	f.api.mu.Lock()
	f.api.w2Version, f.api.w2Desc = 0.3, "theirs"
	f.api.mu.Unlock()
	resp, page := do(t, c, "POST", edit, form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Not saved: this webhook was changed after you opened it") ||
		!strings.Contains(page, "saved version 0.3") || !strings.Contains(page, "you opened version 0.2") {
		t.Fatalf("a save over someone else's: %d\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, ">mine</textarea>") {
		t.Fatalf("what was typed is gone:\n%s", page)
	}
	if f.api.w2Desc != "theirs" {
		t.Fatalf("their change was overwritten: %q", f.api.w2Desc)
	}
	// Saving again, from the conflict page's form, is a knowing choice.
	m = versionField.FindStringSubmatch(page)
	if m == nil || m[1] != "0.3" {
		t.Fatalf("the conflict page's form should carry the current version: %v", m)
	}
	form.Set("version", m[1])
	if resp, _ := do(t, c, "POST", edit, form); resp.StatusCode != http.StatusSeeOther || f.api.w2Desc != "mine" {
		t.Fatalf("saving again: %d, stored %q", resp.StatusCode, f.api.w2Desc)
	}
	if fmt.Sprint(f.api.w2Puts) != "[0.2 0.3]" {
		t.Fatalf("the console's PUTs asked for versions %v, want the form's [0.2 0.3]", f.api.w2Puts)
	}
}
