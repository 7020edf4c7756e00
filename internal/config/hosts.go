package config

import (
	"net"
	"net/netip"
	"regexp"
	"strings"
)

// hostName is a DNS name, or one with a leading dot that also covers its
// subdomains (.example.com).
var hostName = regexp.MustCompile(`^\.?[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$`)

// allowedHosts reads ALLOWED_HOSTS: the names, besides the loopback names
// and IP addresses, that the API answers to in a request's Host. It adds
// the host of HTTP_ADDR when that is a name. "*" answers every name.
func (r *reader) allowedHosts(httpAddr string) (names []string, any bool) {
	const key = "ALLOWED_HOSTS"
	if host, _, err := net.SplitHostPort(httpAddr); err == nil && host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			names = append(names, strings.ToLower(host))
		}
	}
	for _, f := range strings.FieldsFunc(r.str(key, ""), func(c rune) bool { return c == ',' || c == ' ' }) {
		switch {
		case f == "*":
			any = true
		case hostName.MatchString(f):
			names = append(names, strings.ToLower(f))
		default:
			r.fail(key, f, "want host names (webhooks.example.com, .svc.cluster.local for a domain and its subdomains) or *, without ports, separated by commas or spaces")
		}
	}
	return names, any
}
