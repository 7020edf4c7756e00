// Package redact hides credentials in what webhookd shows operators: attempt
// logs, the API, Temporal histories and memos.
package redact

import (
	"net/http"
	"net/url"
	"strings"
)

// Mask replaces a hidden value.
const Mask = "********"

// URL is raw as attempt logs show it: Endpoint's masks, without the
// fragment (never sent).
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.Fragment, u.RawFragment = "", ""
	return masked(u)
}

// Endpoint is a webhook's endpoint as reads show it: every query value (and
// a query word without a value), the user info and every path token (see
// pathTokens) replaced by the Mask, the rest as written, so the read says
// which parameters are sent without their values (Google Chat, Azure and
// many others put tokens there; Slack, Discord, Teams and Zapier put them
// in the path). A URL with nothing to hide reads back unchanged.
func Endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return masked(u)
}

func masked(u *url.URL) string {
	if segs, hidden := pathTokens(u); len(hidden) > 0 {
		for _, i := range hidden {
			segs[i] = Mask
		}
		u.RawPath = strings.Join(segs, "/")
		u.Path, _ = url.PathUnescape(u.RawPath)
	}
	user := ""
	if u.User != nil {
		// Written by hand: url.User would escape the mask's asterisks.
		user = Mask + "@"
		if _, ok := u.User.Password(); ok {
			user = Mask + ":" + Mask + "@"
		}
		u.User = nil
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=" + Mask
			} else if p != "" {
				parts[i] = Mask
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	out := u.String()
	if user != "" {
		if rest, ok := strings.CutPrefix(out, u.Scheme+"://"); ok {
			out = u.Scheme + "://" + user + rest
		}
	}
	return out
}

// URLCredentials are the values Endpoint masks (user, password, path
// tokens and query values, as written and decoded), for finding them where a receiver
// echoes them back.
func URLCredentials(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		out = append(out, u.User.Username())
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	segs, hidden := pathTokens(u)
	for _, i := range hidden {
		out = append(out, segs[i])
		if d, err := url.PathUnescape(segs[i]); err == nil && d != segs[i] {
			out = append(out, d)
		}
	}
	for _, p := range strings.Split(u.RawQuery, "&") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			v = k
		}
		out = append(out, v)
		if d, err := url.QueryUnescape(v); err == nil && d != v {
			out = append(out, d)
		}
	}
	return out
}

// Origin is the scheme and host of a URL, for places that keep no secret
// and need no more: incoming-webhook URLs (Slack, Teams, Discord) carry
// their token in the path.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// Headers flattens h, masking values of headers that carry credentials.
func Headers(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if IsCredential(k) {
			out[k] = Mask
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// credentialWords mark a header as secret wherever they appear in its name:
// X-Api-Key, X-Functions-Key, Ocp-Apim-Subscription-Key, X-Auth-Token, ...
var credentialWords = []string{"auth", "token", "secret", "key", "pass", "credential", "signature", "session", "cookie"}

// IsCredential reports whether a header of this name carries a credential:
// its value is masked wherever webhookd shows it and encrypted where it is
// stored.
func IsCredential(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
