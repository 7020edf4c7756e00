package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

const (
	cookieName = "webhookd_console"
	sessionAAD = "console/session"
	// maxSession bounds a session even for the admin token, which never
	// expires by itself.
	maxSession = 12 * time.Hour
)

// session is the signed-in caller, kept in an encrypted, HttpOnly,
// SameSite=Strict cookie: the token never reaches page scripts or URLs.
type session struct {
	// ID names the session in the revocation list: signing out revokes it,
	// so a copy of the cookie stops working too.
	ID       string `json:"i"`
	Token    string `json:"t,omitempty"` // empty when the API is open
	Role     string `json:"r"`           // admin or tenant
	Tenant   string `json:"n,omitempty"`
	ReadOnly bool   `json:"o,omitempty"`
	// CSRF is the value every form posts back (the synchronizer token
	// pattern): a page of another site cannot read it.
	CSRF    string `json:"c"`
	Expires int64  `json:"e"`
}

func (s *session) IsAdmin() bool { return s.Role == "admin" }

// Who names the principal the session acts as ("the admin", "tenant acme
// (read-only)"); two sessions with the same Who may do the same things.
func (s *session) Who() string {
	who := "the admin"
	if !s.IsAdmin() {
		who = "tenant " + s.Tenant
	}
	if s.ReadOnly {
		who += " (read-only)"
	}
	return who
}

// canWrite reports whether the token may change things.
func (s *session) CanWrite() bool { return !s.ReadOnly }

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// whoami is the API's description of a token.
type whoami struct {
	Role      string `json:"role"`
	TenantID  string `json:"tenantId"`
	ReadOnly  bool   `json:"readOnly"`
	ExpiresAt string `json:"expiresAt"`
}

// newSession asks the API who token is; an invalid token is an *apiError
// with status 401.
func (c *Console) newSession(r *http.Request, token string) (*session, error) {
	probe := &session{Token: token}
	var who whoami
	if err := c.call(r, probe, http.MethodGet, "/api/v1/whoami", nil, &who); err != nil {
		return nil, err
	}
	expires := time.Now().Add(maxSession)
	if t, err := time.Parse(time.RFC3339Nano, who.ExpiresAt); err == nil && t.Before(expires) {
		expires = t
	}
	return &session{ID: randomString(), Token: token, Role: who.Role, Tenant: who.TenantID, ReadOnly: who.ReadOnly,
		CSRF: randomString(), Expires: expires.Unix()}, nil
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; it would crash the program first
	return base64.RawURLEncoding.EncodeToString(b)
}

// readSession returns the cookie's session, or nil when there is none or it
// does not open (another key, tampered, expired, signed out). Telling a
// signed-out session from a live one is one read of the revocation list;
// the error is that read's.
func (c *Console) readSession(r *http.Request) (*session, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	plain, err := c.sealer.Decrypt(ck.Value, sessionAAD)
	if err != nil {
		return nil, nil
	}
	var s session
	if json.Unmarshal([]byte(plain), &s) != nil || s.ID == "" || s.CSRF == "" || time.Now().Unix() >= s.Expires {
		return nil, nil
	}
	revoked, err := c.revoked.ConsoleSessionRevoked(r.Context(), s.ID)
	if err != nil {
		return nil, fmt.Errorf("console: read the revocation list: %w", err)
	}
	if revoked {
		return nil, nil
	}
	return &s, nil
}

// revoke ends s on every replica: its cookie, and any copy of it, no
// longer opens.
func (c *Console) revoke(r *http.Request, s *session) error {
	if err := c.revoked.RevokeConsoleSession(r.Context(), s.ID, time.Unix(s.Expires, 0)); err != nil {
		return fmt.Errorf("console: revoke a session: %w", err)
	}
	return nil
}

func (c *Console) setSession(w http.ResponseWriter, r *http.Request, s *session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	sealed, err := c.sealer.Encrypt(string(b), sessionAAD)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sealed, Path: "/console/", MaxAge: int(time.Until(time.Unix(s.Expires, 0)).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
	return nil
}

// hasSessionCookie reports whether the browser sent a session cookie at
// all, valid or not.
func hasSessionCookie(r *http.Request) bool {
	ck, err := r.Cookie(cookieName)
	return err == nil && ck.Value != ""
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
}

// secureRequest reports whether the browser reached us over HTTPS (directly
// or through a proxy that says so): the cookie is then Secure.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// sameOrigin refuses a state-changing request another site made: the
// browser's Fetch Metadata and Origin headers, where sent, must say it
// came from the console itself. The CSRF token is checked as well.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		scheme := "http"
		if secureRequest(r) {
			scheme = "https"
		}
		// Behind a proxy that rewrites Host, X-Forwarded-Host names the
		// address the browser used.
		return o == scheme+"://"+r.Host || (r.Header.Get("X-Forwarded-Host") != "" && o == scheme+"://"+r.Header.Get("X-Forwarded-Host"))
	}
	return true
}

func validCSRF(r *http.Request, s *session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}
