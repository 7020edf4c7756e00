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

// URL returns raw without user info and with every query value masked
// (Google Chat and many others put tokens in the query string). Keys stay,
// so the log still says which parameters were sent.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{Mask}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
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
