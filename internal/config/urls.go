package config

import (
	"net/url"
	"strings"
)

// httpURL reads an http(s) base URL, such as the Temporal Web UI's address
// as browsers reach it.
func (r *reader) httpURL(key, def string) string {
	v := r.str(key, def)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail(key, v, "want an http:// or https:// address such as https://temporal.example.com")
		return ""
	}
	return strings.TrimRight(v, "/")
}

// origins reads a space-separated list of origins (https://app.example.com)
// or 'self', for CSP frame-ancestors: anything else could widen the policy.
func (r *reader) origins(key string) []string {
	var out []string
	for _, f := range strings.Fields(r.str(key, "")) {
		if f == "'self'" {
			out = append(out, f)
			continue
		}
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(f, ";,'\"*") {
			r.fail(key, f, "want origins such as https://app.example.com (or 'self'), separated by spaces")
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}
