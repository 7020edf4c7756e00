// Package safehttp builds the HTTP client that delivers webhooks: it refuses
// internal addresses at dial time (after DNS, so rebinding does not help),
// never follows redirects and ignores proxy settings.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress is wrapped in dial errors for refused addresses.
var ErrBlockedAddress = errors.New("address refused: loopback, private, link-local, CGNAT, multicast or unspecified (ALLOW_PRIVATE_ENDPOINTS=true allows it)")

var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// IsBlocked reports whether ip is an internal address webhooks may not reach.
func IsBlocked(ip netip.Addr) bool {
	// A zone (fd00::1%eth0) makes netip.Prefix.Contains answer false, yet the
	// kernel dials the address all the same: judge the address without it.
	ip = ip.WithZone("").Unmap() // and ::ffff:10.0.0.1 is 10.0.0.1
	if ip.Is6() {
		b := ip.As16()
		// IPv4-compatible (::a.b.c.d) and NAT64 forms embed an IPv4 address.
		if isZero(b[:12]) && !ip.IsUnspecified() && ip != netip.IPv6Loopback() {
			return IsBlocked(netip.AddrFrom4([4]byte(b[12:])))
		}
		if nat64.Contains(ip) {
			return IsBlocked(netip.AddrFrom4([4]byte(b[12:])))
		}
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// DialControl returns the net.Dialer check run on every connection, on the
// address actually dialled.
func DialControl(allowPrivate bool) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("safehttp: unexpected dial address %q: %w", address, err)
		}
		if IsBlocked(ap.Addr()) {
			return fmt.Errorf("%s: %w", ap.Addr(), ErrBlockedAddress)
		}
		return nil
	}
}

// Options configures NewClient.
type Options struct {
	// AllowPrivate lets webhooks reach internal addresses
	// (ALLOW_PRIVATE_ENDPOINTS; on in dev).
	AllowPrivate bool
}

// NewClient returns the delivery client. It has no overall timeout: each
// request carries the webhook's own deadline in its context.
func NewClient(opts Options) *http.Client {
	dialer := &net.Dialer{
		Timeout:        10 * time.Second,
		KeepAlive:      30 * time.Second,
		ControlContext: DialControl(opts.AllowPrivate),
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the address check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 0, // bounded by the request context
	}
	return &http.Client{
		Transport: transport,
		// A redirect is an answer, not an instruction: following it could
		// reach an address the webhook's owner never configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
