package console

import "net/http"

// routes is every page of the console, in one place. Pages behind
// signedIn need a session (or an open API); their POSTs need the session's
// CSRF token and must come from the console's own origin.
func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /console/static/", c.staticFiles())
	m.HandleFunc("GET /console/{$}", c.index)
	m.HandleFunc("GET /console/sign-in", c.signInPage)
	m.HandleFunc("POST /console/sign-in", c.signIn)
	m.HandleFunc("POST /console/sign-out", c.signedIn(c.signOut))
	m.HandleFunc("GET /console/sign-in-link", c.linkLanding)
	m.HandleFunc("POST /console/switch", c.signedIn(c.switchSession))

	m.HandleFunc("GET /console/webhooks", c.signedIn(c.webhooks))
	m.HandleFunc("GET /console/webhooks/new", c.signedIn(c.newWebhook))
	m.HandleFunc("POST /console/webhooks", c.signedIn(c.createWebhook))
	m.HandleFunc("POST /console/webhooks/test", c.signedIn(c.testUnsaved))
	m.HandleFunc("GET /console/webhooks/{id}", c.signedIn(c.editWebhook))
	m.HandleFunc("POST /console/webhooks/{id}", c.signedIn(c.updateWebhook))
	m.HandleFunc("POST /console/webhooks/{id}/test", c.signedIn(c.testWebhook))
	m.HandleFunc("POST /console/webhooks/{id}/pause", c.signedIn(c.pauseWebhook))
	m.HandleFunc("POST /console/webhooks/{id}/resume", c.signedIn(c.resumeWebhook))
	m.HandleFunc("POST /console/webhooks/{id}/rotate-secret", c.signedIn(c.rotateSecret))
	m.HandleFunc("GET /console/webhooks/{id}/delete", c.signedIn(c.confirmDelete))
	m.HandleFunc("POST /console/webhooks/{id}/delete", c.signedIn(c.deleteWebhook))
	m.HandleFunc("GET /console/webhooks/{id}/deliveries", c.signedIn(c.deliveries))

	m.HandleFunc("GET /console/events", c.signedIn(c.events))
	m.HandleFunc("GET /console/events/{id}", c.signedIn(c.event))

	m.HandleFunc("GET /console/event-types", c.signedIn(c.eventTypes))
	m.HandleFunc("GET /console/event-types/{id}", c.signedIn(c.eventType))

	m.HandleFunc("GET /console/deliveries/{id}", c.signedIn(c.delivery))
	m.HandleFunc("POST /console/deliveries/{id}/resend", c.signedIn(c.resend))

	m.HandleFunc("GET /console/dlq", c.signedIn(c.deadLetters))
	m.HandleFunc("GET /console/dlq/replay", c.signedIn(c.confirmReplay))
	m.HandleFunc("POST /console/dlq/replay", c.signedIn(c.replayDeadLetters))
	m.HandleFunc("GET /console/dlq/jobs/{id}", c.signedIn(c.replayJob))

	m.HandleFunc("GET /console/tenants", c.signedIn(c.tenants))
	m.HandleFunc("POST /console/tenants/{id}/link", c.signedIn(c.tenantLink))

	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Error: "There is no page " + r.URL.Path + "."})
	})
}

func (c *Console) staticFiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// File names carry their version, so they may be cached.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		c.static.ServeHTTP(w, r)
	})
}

// signedIn runs h with the caller's session. Without one, an open API (no
// API_TOKEN, as in `webhookd dev`) signs in as the admin; otherwise GETs go
// to the sign-in page. Every other method needs the CSRF token and the
// console's own origin.
func (c *Console) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.readSession(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if s == nil && hasSessionCookie(r) {
			// An ended or foreign session: sign in again, never fall back
			// to the open API's admin (a tenant's portal would turn into
			// the admin's console).
			clearSession(w, r)
			if r.Method == http.MethodGet {
				c.redirect(w, r, "/console/sign-in")
				return
			}
			c.render(w, r, http.StatusForbidden, "signin", view{Title: "Sign in", Session: &session{},
				Error: "Your session has ended. Sign in again."})
			return
		}
		if s == nil {
			open, err := c.newSession(r, "")
			if err != nil {
				if r.Method == http.MethodGet {
					c.redirect(w, r, "/console/sign-in")
					return
				}
				c.render(w, r, http.StatusForbidden, "signin", view{Title: "Sign in", Session: &session{},
					Error: "Sign in first."})
				return
			}
			if err := c.setSession(w, r, open); err != nil {
				c.fail(w, r, err)
				return
			}
			s = open
		}
		r = r.WithContext(withSession(r.Context(), s))
		if r.Method != http.MethodGet && r.Method != http.MethodHead && (!sameOrigin(r) || !validCSRF(r, s)) {
			c.render(w, r, http.StatusForbidden, "error", view{Title: "Refused",
				Error: "This form is out of date or was sent from another site. Reload the page and try again."})
			return
		}
		h(w, r)
	}
}

// redirect sends the browser to path after a POST or a sign-in (303), or
// tells htmx to go there.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", path)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}
