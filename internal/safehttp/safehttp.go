// Package safehttp builds the HTTP client that delivers webhooks: it refuses
// internal addresses at dial time (after DNS, so rebinding does not help),
// never follows redirects and ignores proxy environment variables. With a
// configured egress proxy it resolves and checks the address itself and has
// the proxy tunnel to that IP.
package safehttp

import (
	"context"
	"crypto/tls"
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

// dialControl is the net.Dialer check run on every connection attempt,
// on the IP actually being connected to: by then DNS has been resolved, so a
// name pointing at 127.0.0.1, or one re-pointed there after validation
// (DNS rebinding), is caught too.
func (g *guard) dialControl(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: an address we cannot judge (127.0.0.1%eth0, from
		// [::ffff:127.0.0.1%eth0]) is not dialled.
		return fmt.Errorf("safehttp: cannot judge dial address %q (%v): %w", address, err, ErrBlockedAddress)
	}
	if reason := g.why(ap.Addr()); reason != "" {
		return fmt.Errorf("%s is %s: %w", ap.Addr(), reason, ErrBlockedAddress)
	}
	return nil
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
	// Resolver resolves endpoint hosts; nil means net.DefaultResolver. With
	// a proxy webhookd resolves them itself; without one the dialer does,
	// through Resolver when it is a *net.Resolver.
	Resolver Resolver
	// HostAddrs lists this host's own addresses, which deliveries may not
	// reach either; nil means the addresses of its network interfaces.
	// They are read by NewClient and again when older than
	// hostAddrsRefresh.
	HostAddrs func() ([]netip.Addr, error)
	// TLS, when set, is the client's TLS configuration: a webhook's
	// client certificate (mTLS) gets a client of its own built with it.
	TLS *tls.Config
}

// NewClient returns the delivery client. It has no overall timeout: each
// request carries the webhook's own deadline in its context.
func NewClient(opts Options) *http.Client {
	g := newGuard(opts)
	dialer := &net.Dialer{
		Timeout:        10 * time.Second,
		KeepAlive:      30 * time.Second,
		ControlContext: g.dialControl,
	}
	if r, ok := opts.Resolver.(*net.Resolver); ok {
		dialer.Resolver = r
	}
	dial := dialer.DialContext
	if opts.Proxy != nil {
		dial = newProxyDialer(opts, g).DialContext
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
		TLSClientConfig:       opts.TLS,
	}
	return &http.Client{
		Transport: transport,
		// A redirect is an answer, not an instruction: following it could
		// reach an address the webhook's owner never configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
