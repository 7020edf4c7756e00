package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/webhookd/webhookd/internal/store"
)

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string // the menu entry to mark current
	Session *session
	CSRF    string
	Flash   string
	Error   string
	Data    any
}

// parsePages builds one template set per page: the layout plus the page.
// Files starting with "_" are shared parts every set holds.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var shared, pages []string
	for _, n := range names {
		if strings.HasPrefix(n, "templates/_") {
			shared = append(shared, n)
		} else {
			pages = append(pages, n)
		}
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		t, err := template.New("").Funcs(funcs).ParseFS(templateFiles, append([]string{p}, shared...)...)
		if err != nil {
			return nil, fmt.Errorf("console: %s: %w", p, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"errorOf": func(f *webhookForm, field string) string { return f.Errors[field] },
	// invalid marks a field the API refused and ties it to its message.
	"invalid": func(f *webhookForm, field string) template.HTMLAttr {
		if f.Errors[field] == "" {
			return ""
		}
		return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(field) + `-error"`)
	},
	"when":    when,
	"short":   short,
	"percent": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"join":    strings.Join,
}

// when shows an API timestamp in UTC, to the second.
func when(v any) string {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case *string:
		if t == nil {
			return ""
		}
		s = *t
	}
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// short cuts s to n characters.
func short(n int, s string) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// render writes page (or, for an htmx request, fragment when given) with
// status. The page is rendered into memory first, so a template error is a
// clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	c.renderTemplate(w, r, status, page, "layout", v)
}

// renderFragment writes one named template of page's set: the piece an
// htmx request swaps in.
func (c *Console) renderFragment(w http.ResponseWriter, r *http.Request, status int, page, name string, v view) {
	c.renderTemplate(w, r, status, page, name, v)
}

func (c *Console) renderTemplate(w http.ResponseWriter, r *http.Request, status int, page, name string, v view) {
	t, ok := c.pages[page]
	if !ok {
		c.log.ErrorContext(r.Context(), "console: no such page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.Session == nil {
		v.Session = sessionOf(r)
	}
	if v.Session != nil {
		v.CSRF = v.Session.CSRF
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		c.log.ErrorContext(r.Context(), "console: render", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // pages hold a tenant's data
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an error page for err: the API's own status and message, a
// sign-in page when the token stopped working.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) && store.IsUnavailable(err) {
		// The session's revocation read, like the API, answers an outage
		// with 503: the page works again once the database is back.
		c.log.WarnContext(r.Context(), "console: database unreachable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "5")
		c.render(w, r, http.StatusServiceUnavailable, "error", view{Title: http.StatusText(http.StatusServiceUnavailable),
			Error: "The database is unreachable; try again shortly."})
		return
	}
	if !errors.As(err, &e) {
		c.log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "error", err)
		c.render(w, r, http.StatusInternalServerError, "error", view{Title: "Error", Error: "Something went wrong; the server log has the details."})
		return
	}
	if e.Status == http.StatusUnauthorized {
		clearSession(w, r)
		c.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", Session: &session{},
			Error: "Your session has ended (the token expired or was revoked). Sign in again."})
		return
	}
	title := http.StatusText(e.Status)
	if e.Status == http.StatusNotFound {
		title = "Not found"
	}
	c.render(w, r, e.Status, "error", view{Title: title, Error: e.Message})
}
