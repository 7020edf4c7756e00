package api

import (
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// A web page on another site must not be able to drive the API, least of
// all when it runs open (`webhookd dev` without API_TOKEN, or API_OPEN),
// where a request without credentials acts as the admin. Three rules, each
// for every route, so a new route cannot forget them:
//
//   - allowHosts: the Host must be one this server answers to. A page whose
//     own name was rebound to 127.0.0.1 (DNS rebinding) sends its own name
//     as the Host, so it is refused and can read nothing.
//   - refuseCrossOrigin: a browser's write from another origin is refused
//     (Fetch Metadata, or Origin against Host). The API sends no CORS
//     headers, so no page on another origin has a use for it.
//   - jsonBodies: writes carry JSON and say so. A page can send text/plain,
//     form or multipart bodies to any site without asking (a "simple"
//     request); it cannot send application/json without a CORS preflight,
//     which the API never grants.

// HostRule says which Host names the API answers to: the loopback names
// (localhost and *.localhost), any IP address (a page cannot rebind a
// literal address), and Names. A name starting with a dot also covers its
// subdomains (.example.com: example.com, api.example.com). Any covers
// every name (ALLOWED_HOSTS=*).
type HostRule struct {
	Names []string
	Any   bool
}

// allows reports whether a request's Host header (with or without a port)
// is one the rule covers.
func (h HostRule) allows(hostport string) bool {
	if h.Any {
		return true
	}
	host := hostport
	if hst, _, err := net.SplitHostPort(hostport); err == nil {
		host = hst
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, n := range h.Names {
		n = strings.TrimSuffix(strings.ToLower(n), ".")
		if host == n || (strings.HasPrefix(n, ".") && (host == n[1:] || strings.HasSuffix(host, n))) {
			return true
		}
	}
	return false
}

func allowHosts(rule HostRule) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !rule.allows(c.Request.Host) {
			fail(c, &Error{Status: http.StatusMisdirectedRequest, Code: "misdirected_request",
				Message: "this server does not answer to the Host this request names; add the name to ALLOWED_HOSTS"})
		}
	}
}

func refuseCrossOrigin() gin.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			fail(c, forbidden("a browser on another origin may not change anything here (%v)", err))
		}
	}
}

// jsonBodies answers 415 to a write whose body is not declared JSON:
// application/json (RFC 6902 application/json-patch+json for PATCH), in
// UTF-8. A write without a body needs no Content-Type.
func jsonBodies() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return
		}
		ct := c.GetHeader("Content-Type")
		if ct == "" && c.Request.ContentLength == 0 {
			return
		}
		want := "application/json"
		if c.Request.Method == http.MethodPatch {
			want = "application/json-patch+json"
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err == nil && mt == want && (params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8")) {
			return
		}
		fail(c, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type: this route takes " + want + " (UTF-8); got " + quoteOr(ct, "none")})
	}
}

func quoteOr(v, none string) string {
	if v == "" {
		return none
	}
	return strconv.QuoteToASCII(v[:min(len(v), 100)])
}
