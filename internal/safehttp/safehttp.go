// Package safehttp builds the HTTP client that delivers webhooks: it refuses
// internal addresses at dial time (after DNS, so rebinding does not help),
// never follows redirects and ignores proxy environment variables. With a
// configured egress proxy it resolves and checks the address itself and has
// the proxy tunnel to that IP.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrBlockedAddress is wrapped in dial errors for refused addresses; the
// wrapping error names the address and why it is internal.
var ErrBlockedAddress = errors.New("refused: internal addresses are not allowed (ALLOW_PRIVATE_ENDPOINTS=true allows them)")

// DialControl returns the net.Dialer check run on every connection attempt,
// on the IP actually being connected to: by then DNS has been resolved, so a
// name pointing at 127.0.0.1, or one re-pointed there after validation
// (DNS rebinding), is caught too.
func DialControl(allowPrivate bool) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			// Fail closed: an address we cannot judge is not dialled.
			return fmt.Errorf("safehttp: unexpected dial address %q: %w", address, err)
		}
		if kind := blockedKind(ap.Addr()); kind != "" {
			return fmt.Errorf("%s is a %s address: %w", ap.Addr(), kind, ErrBlockedAddress)
		}
		return nil
	}
}

// Options configures NewClient.
type Options struct {
	// AllowPrivate lets webhooks reach internal addresses
	// (ALLOW_PRIVATE_ENDPOINTS; on in dev).
	AllowPrivate bool
	// Proxy, when set (EGRESS_PROXY, see ParseProxyURL), sends every
	// delivery through this HTTP proxy as a CONNECT tunnel to an address
	// webhookd has resolved and checked itself. The proxy's own address is
	// not checked.
	Proxy *url.URL
	// Resolver resolves endpoint hosts when Proxy is set; nil means
	// net.DefaultResolver. Without a proxy the dialer resolves as before.
	Resolver Resolver
}

// NewClient returns the delivery client. It has no overall timeout: each
// request carries the webhook's own deadline in its context.
func NewClient(opts Options) *http.Client {
	dialer := &net.Dialer{
		Timeout:        10 * time.Second,
		KeepAlive:      30 * time.Second,
		ControlContext: DialControl(opts.AllowPrivate),
	}
	dial := dialer.DialContext
	if opts.Proxy != nil {
		dial = newProxyDialer(opts).DialContext
	}
	transport := &http.Transport{
		// Not ProxyFromEnvironment, nor Options.Proxy here: the transport's
		// proxy support would send the host name for the proxy to resolve,
		// past the address check. Options.Proxy is used by the dial instead.
		Proxy:       nil,
		DialContext: dial,
		// Many endpoints, each hit repeatedly: keep connections warm.
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		// A redirect is an answer, not an instruction: following it could
		// reach an address the webhook's owner never configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
