package console

import (
	"encoding/json"
	"net/http"
	"time"
)

// A sign-in link (/console/?token=) may come from any site, and a browser
// does not send the SameSite=Strict session cookie with a navigation from
// another site: the first answer cannot tell whether someone is signed in
// here already. So it only keeps the token, in a short-lived sealed
// cookie, and moves on to /console/sign-in-link with a navigation of its
// own, which carries both cookies. There a browser without a session (or
// with one of the same principal) is signed in as the link says, as
// before; one signed in as someone else is asked first, so a link another
// site sends cannot swap an admin's session for its own tenant's (login
// CSRF).

const (
	linkCookie = "webhookd_console_link"
	linkAAD    = "console/sign-in-link"
	// linkWait bounds the time from following a link to confirming it.
	linkWait = 10 * time.Minute
)

type pendingLink struct {
	Token   string `json:"t"`
	Expires int64  `json:"e"`
}

// signInWithLink keeps the link's token and moves on to linkLanding; the
// page does it at once (console.js also removes the token from the
// address bar and history).
func (c *Console) signInWithLink(w http.ResponseWriter, r *http.Request, token string) {
	b, err := json.Marshal(pendingLink{Token: token, Expires: time.Now().Add(linkWait).Unix()})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	sealed, err := c.sealer.Encrypt(string(b), linkAAD)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: linkCookie, Value: sealed, Path: "/console/", MaxAge: int(linkWait.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
	c.render(w, r, http.StatusOK, "bounce", view{Title: "Signing in", Session: &session{}, Data: "/console/sign-in-link"})
}

// readLink returns the token of the link being followed, or "".
func (c *Console) readLink(r *http.Request) string {
	ck, err := r.Cookie(linkCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	plain, err := c.sealer.Decrypt(ck.Value, linkAAD)
	if err != nil {
		return ""
	}
	var p pendingLink
	if json.Unmarshal([]byte(plain), &p) != nil || time.Now().Unix() >= p.Expires {
		return ""
	}
	return p.Token
}

func clearLink(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: linkCookie, Value: "", Path: "/console/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
}

// switchView is what the confirmation page shows.
type switchView struct{ Current, Next string }

// linkLanding signs in with the link's token, unless that would replace
// the session of someone else: then it asks.
func (c *Console) linkLanding(w http.ResponseWriter, r *http.Request) {
	token := c.readLink(r)
	if token == "" {
		c.redirect(w, r, "/console/")
		return
	}
	current, err := c.readSession(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	next, err := c.newSession(r, token)
	if err != nil {
		clearLink(w, r)
		if current != nil && isUnauthorized(err) {
			// A bad link does not end the session already here.
			c.render(w, r, http.StatusUnauthorized, "error", view{Title: "Sign-in link not valid", Session: current,
				Error: "This sign-in link is not valid or has expired. You are still signed in as " + current.Who() + "."})
			return
		}
		c.signInFailed(w, r, err, "This sign-in link is not valid or has expired. Ask for a new one, or paste a token.")
		return
	}
	if current != nil && current.Who() != next.Who() {
		c.render(w, r, http.StatusOK, "switch", view{Title: "Switch sessions?", Session: current,
			Data: switchView{Current: current.Who(), Next: next.Who()}})
		return
	}
	c.replaceSession(w, r, current, next)
}

// switchSession is the confirmation: sign in with the link's token in
// place of the current session (signedIn has checked its CSRF token).
func (c *Console) switchSession(w http.ResponseWriter, r *http.Request) {
	token := c.readLink(r)
	if token == "" {
		c.render(w, r, http.StatusUnprocessableEntity, "error", view{Title: "Sign-in link expired",
			Error: "The sign-in link has expired. Open it again."})
		return
	}
	next, err := c.newSession(r, token)
	if err != nil {
		clearLink(w, r)
		if isUnauthorized(err) { // the link's token, not the session here
			c.render(w, r, http.StatusUnauthorized, "error", view{Title: "Sign-in link not valid",
				Error: "This sign-in link is not valid or has expired."})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.replaceSession(w, r, sessionOf(r), next)
}

// replaceSession signs in as next, revoking current (if any), and goes to
// the webhooks.
func (c *Console) replaceSession(w http.ResponseWriter, r *http.Request, current, next *session) {
	if current != nil {
		if err := c.revoke(r, current); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	if err := c.setSession(w, r, next); err != nil {
		c.fail(w, r, err)
		return
	}
	clearLink(w, r)
	c.redirect(w, r, "/console/webhooks")
}
