package safehttp

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Resolver looks up a host's addresses; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// connectTimeout bounds the CONNECT exchange. http.Transport detaches dials
// from the request's cancellation (the connection may serve a later request),
// so without it a proxy that never answers would hold the dial forever.
const connectTimeout = 10 * time.Second

// maxConnectResponse caps the proxy's answer headers.
const maxConnectResponse = 64 << 10

// proxyDialer opens connections to endpoints as CONNECT tunnels through an
// HTTP proxy. The proxy does the real dial, so the address check cannot run
// there: instead webhookd resolves the host itself, checks every address and
// asks the proxy for a checked IP literal, which it cannot re-resolve.
type proxyDialer struct {
	proxyAddr string // host:port, dialled as configured and never checked
	auth      string // Proxy-Authorization value, or ""
	guard     *guard
	resolver  Resolver
	dialer    *net.Dialer
}

func newProxyDialer(opts Options, g *guard) *proxyDialer {
	proxy := opts.Proxy
	d := &proxyDialer{
		proxyAddr: proxy.Host,
		guard:     g,
		resolver:  opts.Resolver,
		// No ControlContext: the proxy is the operator's choice and usually
		// private; the endpoint addresses are checked in targets.
		dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
	}
	if proxy.Port() == "" {
		d.proxyAddr = net.JoinHostPort(proxy.Hostname(), "80") // as net/http does
	}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		d.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass))
	}
	return d
}

// DialContext is the transport's dial hook. http.Transport then runs HTTP, or
// its own TLS handshake with ServerName = the URL's host, over the tunnel, so
// certificates are still verified against the host name, not the IP.
func (d *proxyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	targets, err := d.targets(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	var first error
	for _, target := range targets {
		conn, err := d.connect(ctx, target)
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		// Try the next address only when the proxy says it could not reach
		// this one; anything else (auth, proxy down, context) applies to all.
		var se *connectStatusError
		if !errors.As(err, &se) || !se.unreachable() {
			break
		}
	}
	return nil, first
}

// targets resolves addr's host and returns the addresses to ask the proxy
// for. When internal addresses are refused, one internal address among the
// answers refuses them all: a name that resolves to both public and internal
// addresses is either misconfigured or an attempt to reach inside.
func (d *proxyDialer) targets(ctx context.Context, network, addr string) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("safehttp: unexpected dial address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("safehttp: unexpected dial port in %q", addr)
	}
	ips, literal := []netip.Addr(nil), true
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		literal = false
		lookup := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
		if lookup == "" {
			return nil, fmt.Errorf("safehttp: unsupported network %q", network)
		}
		if ips, err = d.resolver.LookupNetIP(ctx, lookup, host); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("dial %s %s: no addresses", network, addr)
		}
	}
	var out []netip.AddrPort
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		if reason := d.guard.why(ip); reason != "" {
			if literal {
				return nil, fmt.Errorf("%s is %s: %w", ip, reason, ErrBlockedAddress)
			}
			return nil, fmt.Errorf("%s resolves to %s, which is %s: %w", host, ip, reason, ErrBlockedAddress)
		}
		if ip.Zone() != "" {
			// A zone names an interface of this host, meaningless to the proxy.
			return nil, fmt.Errorf("safehttp: %s: an IPv6 zone cannot be sent through a proxy", ip)
		}
		// The resolver may answer IPv4 as ::ffff:a.b.c.d; ask for the plain form.
		ip = ip.Unmap()
		if !seen[ip] {
			seen[ip] = true
			out = append(out, netip.AddrPortFrom(ip, uint16(port)))
		}
	}
	return out, nil
}

// connect dials the proxy and asks for a tunnel to target.
func (d *proxyDialer) connect(ctx context.Context, target netip.AddrPort) (_ net.Conn, err error) {
	conn, err := d.dialer.DialContext(ctx, "tcp", d.proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	// Both the context and connectTimeout end the exchange, by expiring the
	// connection's deadline so that a blocked read or write returns.
	conn.SetDeadline(time.Now().Add(connectTimeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() && err == nil { // cancelled after all: the deadline is spoilt
			err = ctx.Err()
		}
	}()

	// The IP literal, never the host name: the proxy must not resolve again.
	t := target.String()
	req := "CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n"
	if d.auth != "" {
		req += "Proxy-Authorization: " + d.auth + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return nil, d.exchangeErr(ctx, err)
	}
	br := bufio.NewReader(io.LimitReader(conn, maxConnectResponse))
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, d.exchangeErr(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		// The status code and its standard text only: the proxy's own reason
		// phrase and body are not ours to log.
		return nil, &connectStatusError{proxy: d.proxyAddr, target: t, code: resp.StatusCode}
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// Bytes past the answer already belong to the tunnel.
		return &tunnelConn{Conn: conn, br: br}, nil
	}
	return conn, nil
}

// exchangeErr prefers the context's error to the deadline it caused.
func (d *proxyDialer) exchangeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("egress proxy %s: %w", d.proxyAddr, ctx.Err())
	}
	return fmt.Errorf("egress proxy %s: CONNECT: %w", d.proxyAddr, err)
}

// connectStatusError is a proxy's refusal to open a tunnel.
type connectStatusError struct {
	proxy, target string
	code          int
}

func (e *connectStatusError) Error() string {
	return fmt.Sprintf("egress proxy %s answered %d %s to CONNECT %s",
		e.proxy, e.code, http.StatusText(e.code), e.target)
}

// unreachable reports whether the proxy could not reach the target (Squid
// answers 503 to a refused connection), so another address may do better.
func (e *connectStatusError) unreachable() bool {
	return e.code == http.StatusBadGateway || e.code == http.StatusServiceUnavailable ||
		e.code == http.StatusGatewayTimeout
}

// tunnelConn returns what was read ahead with the proxy's answer first.
type tunnelConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *tunnelConn) Read(p []byte) (int, error) {
	if c.br.Buffered() > 0 {
		return c.br.Read(p)
	}
	return c.Conn.Read(p)
}
