// Package console is webhookd's web console at /console/: server-rendered
// pages (html/template, with the vendored htmx for partial updates) over
// the REST API. Every page calls the API in-process with the signed-in
// token, so the console can do exactly what that token may do through the
// API, no more: a tenant token shows its tenant only, a read-only token
// cannot write, and validation messages are the API's own.
package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Sealer encrypts and authenticates the session cookie (the secrets
// keyring: every replica with the same ENCRYPTION_KEYS reads the cookies of
// the others).
type Sealer interface {
	Encrypt(plaintext, aad string) (string, error)
	Decrypt(stored, aad string) (string, error)
}

// Deps is what the console needs.
type Deps struct {
	Logger *slog.Logger
	// API is the REST API's handler, called in-process.
	API    http.Handler
	Sealer Sealer
	// WorkflowURL is the address of a delivery's workflow in the Temporal
	// Web UI, as a browser reaches it; nil hides the links to workflows.
	WorkflowURL func(deliveryID string) string
	// FrameAncestors are the origins allowed to show the console in a
	// frame (CSP frame-ancestors); none by default.
	FrameAncestors []string
}

// Console serves /console/.
type Console struct {
	log         *slog.Logger
	api         http.Handler
	sealer      Sealer
	workflowURL func(deliveryID string) string
	pages       map[string]*template.Template
	static      http.Handler
	csp         string
	mux         *http.ServeMux
}

// New builds the console.
func New(d Deps) (*Console, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("console: Logger is required")
	case d.API == nil:
		return nil, errors.New("console: API is required")
	case d.Sealer == nil:
		return nil, errors.New("console: Sealer is required")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	ancestors := "'none'"
	if len(d.FrameAncestors) > 0 {
		ancestors = strings.Join(d.FrameAncestors, " ")
	}
	c := &Console{
		log: d.Logger, api: d.API, sealer: d.Sealer,
		workflowURL: d.WorkflowURL,
		pages:       pages,
		static:      http.StripPrefix("/console/static/", http.FileServerFS(static)),
		csp: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
			"form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors,
		mux: http.NewServeMux(),
	}
	c.routes()
	return c, nil
}

// ServeHTTP sets the headers every console answer carries and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Content-Security-Policy", c.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	// A sign-in link carries a token: no page may pass its address on.
	h.Set("Referrer-Policy", "no-referrer")
	if c.csp != "" && strings.HasSuffix(c.csp, "'none'") {
		h.Set("X-Frame-Options", "DENY")
	}
	c.mux.ServeHTTP(&timed{ResponseWriter: w, start: start}, r)
}

// timed adds Server-Timing to each answer: the time the console spent,
// API calls included, which the page-speed benchmark reads.
type timed struct {
	http.ResponseWriter
	start   time.Time
	written bool
}

func (t *timed) WriteHeader(code int) {
	if !t.written {
		t.written = true
		t.Header().Set("Server-Timing", fmt.Sprintf("app;dur=%.1f", float64(time.Since(t.start).Microseconds())/1000))
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *timed) Write(b []byte) (int, error) {
	if !t.written {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(b)
}
