package safehttp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// ParseProxyURL validates an egress proxy setting (EGRESS_PROXY) and returns
// it reduced to scheme, user info and host:port. Its errors never repeat the
// value: it may hold a password.
func ParseProxyURL(raw string) (*url.URL, error) {
	const want = "must be http://host:port or http://user:password@host:port"
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole value, password included.
		return nil, errors.New("not a valid URL: " + want)
	}
	if u.Scheme != "http" {
		// Only a value written as scheme://… surely has a scheme before its
		// colon; in "user:password@host" it would be the user name.
		if u.Opaque == "" && u.Host != "" {
			return nil, fmt.Errorf("scheme %q is not supported: %s", u.Scheme, want)
		}
		return nil, errors.New(want)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host: " + want)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		// An explicit port: tools disagree on the default (80 or 1080).
		return nil, errors.New("no valid port: " + want)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("a path, query or fragment is not allowed: " + want)
	}
	return &url.URL{Scheme: "http", User: u.User, Host: u.Host}, nil
}
