package console

import (
	"errors"
	"net/http"
	"strings"
)

// index is /console/: a sign-in link (?token=), else the webhooks of a
// signed-in caller, else the sign-in page (an open API signs in as the
// admin by itself).
func (c *Console) index(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("token"); tok != "" {
		c.signInWithLink(w, r, tok)
		return
	}
	s, err := c.readSession(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if s != nil {
		c.redirect(w, r, "/console/webhooks")
		return
	}
	if open, err := c.newSession(r, ""); err == nil {
		if err := c.setSession(w, r, open); err != nil {
			c.fail(w, r, err)
			return
		}
		c.redirect(w, r, "/console/webhooks")
		return
	}
	c.signInPage(w, r)
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Session: &session{}})
}

// signIn takes a pasted token.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.render(w, r, http.StatusForbidden, "signin", view{Title: "Sign in", Session: &session{}, Error: "Sign in from this page."})
		return
	}
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("token")), "Bearer "))
	if token == "" {
		c.render(w, r, http.StatusUnprocessableEntity, "signin", view{Title: "Sign in", Session: &session{}, Error: "Paste a token."})
		return
	}
	s, err := c.newSession(r, token)
	if err != nil {
		c.signInFailed(w, r, err, "That token is not valid or has expired.")
		return
	}
	// Whoever was signed in here before is signed out.
	current, err := c.readSession(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.replaceSession(w, r, current, s)
}

func (c *Console) signInFailed(w http.ResponseWriter, r *http.Request, err error, msg string) {
	if !isUnauthorized(err) {
		c.fail(w, r, err)
		return
	}
	clearSession(w, r)
	c.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", Session: &session{}, Error: msg})
}

// isUnauthorized reports whether the API refused a token (401).
func isUnauthorized(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// signOut ends the session everywhere: the browser forgets the cookie, and
// the revocation list refuses it (and any copy of it) on every replica.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if err := c.revoke(r, sessionOf(r)); err != nil {
		c.fail(w, r, err)
		return
	}
	clearSession(w, r)
	c.redirect(w, r, "/console/sign-in")
}
