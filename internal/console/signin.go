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
	if c.readSession(r) != nil {
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

// signInWithLink signs in with the token of a link a product gave its
// customer, then leaves that address: the answer is a page that moves on
// to the webhooks at once (a same-site navigation, so the SameSite=Strict
// cookie goes along even when the link came from another site), and
// console.js also removes the token from the address bar and history.
func (c *Console) signInWithLink(w http.ResponseWriter, r *http.Request, token string) {
	s, err := c.newSession(r, token)
	if err != nil {
		c.signInFailed(w, r, err, "This sign-in link is not valid or has expired. Ask for a new one, or paste a token.")
		return
	}
	if err := c.setSession(w, r, s); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "bounce", view{Title: "Signing in", Session: s, Data: "/console/webhooks"})
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
	if err := c.setSession(w, r, s); err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/console/webhooks")
}

func (c *Console) signInFailed(w http.ResponseWriter, r *http.Request, err error, msg string) {
	var e *apiError
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		c.fail(w, r, err)
		return
	}
	clearSession(w, r)
	c.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", Session: &session{}, Error: msg})
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	clearSession(w, r)
	c.redirect(w, r, "/console/sign-in")
}
