package safehttp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeResolver answers from a map, so no test needs real DNS.
type fakeResolver map[string][]string

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// connectProxy is a minimal CONNECT proxy that records what it was asked.
type connectProxy struct {
	ln       net.Listener
	accepted atomic.Int32
	status   int            // answer this instead of tunnelling, when set
	statusOf map[string]int // the same, per CONNECT target
	hang     bool           // read the request, never answer

	mu      sync.Mutex
	lines   []string // request lines
	hosts   []string // Host headers
	auths   []string // Proxy-Authorization headers
	closed  chan struct{}
	conns   []net.Conn
	tunnels int
}

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln, closed: make(chan struct{})}
	t.Cleanup(func() {
		ln.Close()
		close(p.closed)
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			go p.serve(c)
		}
	}()
	return p
}

// url is the proxy's address with optional user info, as ParseProxyURL gives it.
func (p *connectProxy) url(t *testing.T, userinfo string) *url.URL {
	t.Helper()
	if userinfo != "" {
		userinfo += "@"
	}
	u, err := ParseProxyURL("http://" + userinfo + p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return
	}
	target := strings.TrimSuffix(strings.TrimPrefix(line, "CONNECT "), " HTTP/1.1")
	p.mu.Lock()
	p.lines = append(p.lines, line)
	p.hosts = append(p.hosts, hdr.Get("Host"))
	p.auths = append(p.auths, hdr.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if p.hang {
		<-p.closed
		return
	}
	status := p.status
	if s, ok := p.statusOf[target]; ok {
		status = s
	}
	if status != 0 {
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nProxy-Authenticate: Basic realm=\"egress\"\r\nContent-Length: 0\r\n\r\n",
			status, http.StatusText(status))
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.tunnels++
	p.mu.Unlock()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() { io.Copy(up, br); up.Close() }()
	io.Copy(c, up)
}

func (p *connectProxy) seen() (lines, hosts, auths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...), append([]string(nil), p.hosts...), append([]string(nil), p.auths...)
}

func portOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func TestProxyConnectsToCheckedIPWithBasicAuth(t *testing.T) {
	var gotHost atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gotHost.Store(r.Host) }))
	defer srv.Close()
	port := portOf(t, srv.URL)
	p := newConnectProxy(t)
	c := NewClient(Options{
		AllowPrivate: true,
		Proxy:        p.url(t, "webhookd:p%40ss%20w0rd"),
		Resolver:     fakeResolver{"hooks.example": {"::ffff:127.0.0.1"}},
	})
	resp, err := get(c, "http://hooks.example:"+port+"/x")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("through the proxy: %v %v", resp, err)
	}
	lines, hosts, auths := p.seen()
	want := "127.0.0.1:" + port // the checked IP, unmapped; never the name
	if len(lines) != 1 || lines[0] != "CONNECT "+want+" HTTP/1.1" || hosts[0] != want {
		t.Errorf("proxy saw %q with Host %q, want CONNECT %s", lines, hosts, want)
	}
	if wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("webhookd:p@ss w0rd")); auths[0] != wantAuth {
		t.Errorf("Proxy-Authorization %q, want %q", auths[0], wantAuth)
	}
	// Inside the tunnel the request still names the endpoint's host.
	if h := gotHost.Load(); h != "hooks.example:"+port {
		t.Errorf("endpoint saw Host %v", h)
	}

	// No user info, no Proxy-Authorization.
	c = NewClient(Options{AllowPrivate: true, Proxy: p.url(t, ""), Resolver: fakeResolver{}})
	if _, err := get(c, srv.URL); err != nil {
		t.Fatal(err)
	}
	if _, _, auths := p.seen(); auths[1] != "" {
		t.Errorf("Proxy-Authorization %q sent without credentials", auths[1])
	}
}

func TestProxyRefusesInternalBeforeContactingProxy(t *testing.T) {
	p := newConnectProxy(t)
	c := NewClient(Options{
		Proxy: p.url(t, "u:s3cret"),
		Resolver: fakeResolver{
			"private.example": {"10.0.0.1"},
			"loop.example":    {"127.0.0.1"},
			"mapped.example":  {"::ffff:169.254.169.254"},
			// Public and private in either order: refused, not picked around.
			"mixed.example":  {"93.184.215.14", "10.0.0.1"},
			"mixed6.example": {"fd00::1", "2606:4700::1111"},
		},
	})
	for u, want := range map[string]string{
		"http://private.example/":    "private.example resolves to 10.0.0.1, which is a private address",
		"https://loop.example/":      "loop.example resolves to 127.0.0.1, which is a loopback address",
		"http://mapped.example/":     "::ffff:169.254.169.254, which is an IPv4-mapped address leading to 169.254.169.254, a link-local address",
		"http://mixed.example/":      "mixed.example resolves to 10.0.0.1, which is a private address",
		"https://mixed6.example/":    "fd00::1, which is a private",
		"http://127.0.0.1:8080/":     "127.0.0.1 is a loopback address",
		"http://[::1]/":              "::1 is a loopback address",
		"http://[::ffff:10.0.0.1]/":  "leading to 10.0.0.1, a private address",
		"http://[fe80::1%25eth0]/":   "link-local",
		"http://100.64.0.1:443/hook": "CGNAT",
	} {
		_, err := get(c, u)
		if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "ALLOW_PRIVATE_ENDPOINTS") {
			t.Errorf("%s: want ErrBlockedAddress saying %q, got %v", u, want, err)
		}
	}
	if n := p.accepted.Load(); n != 0 {
		t.Fatalf("the proxy was contacted %d time(s) for refused addresses", n)
	}
}

func TestProxyAllowPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := newConnectProxy(t)
	c := NewClient(Options{AllowPrivate: true, Proxy: p.url(t, ""), Resolver: fakeResolver{"loop.example": {"127.0.0.1"}}})
	for _, u := range []string{srv.URL, "http://loop.example:" + portOf(t, srv.URL)} {
		if resp, err := get(c, u); err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", u, resp, err)
		}
	}
	p.mu.Lock()
	tunnels := p.tunnels
	p.mu.Unlock()
	if tunnels != 2 {
		t.Errorf("%d tunnels, want 2", tunnels)
	}
	// A zone means nothing to the proxy's host.
	if _, err := get(c, "http://[fe80::1%25eth0]:80/"); err == nil || !strings.Contains(err.Error(), "zone") {
		t.Errorf("zoned address: %v", err)
	}
}

func TestProxyTLSVerifiesHostName(t *testing.T) {
	var sni atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the wrong.example handshake fails on purpose
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni.Store(h.ServerName)
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	port := portOf(t, srv.URL)
	p := newConnectProxy(t)
	c := NewClient(Options{
		AllowPrivate: true,
		Proxy:        p.url(t, ""),
		// httptest's certificate is for example.com (and the loopback IPs).
		Resolver: fakeResolver{"example.com": {"127.0.0.1"}, "wrong.example": {"127.0.0.1"}},
	})
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots}

	resp, err := get(c, "https://example.com:"+port+"/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https through the tunnel: %v %v", resp, err)
	}
	if sni.Load() != "example.com" {
		t.Errorf("SNI %q, want the host name", sni.Load())
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s: HTTP/2 should still be negotiated through the tunnel", resp.Proto)
	}
	// Same IP, same certificate, another name: verification must fail.
	_, err = get(c, "https://wrong.example:"+port+"/")
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) || !strings.Contains(err.Error(), "wrong.example") {
		t.Errorf("wrong.example: want a certificate name error, got %v", err)
	}
	if lines, _, _ := p.seen(); len(lines) != 2 || lines[1] != "CONNECT 127.0.0.1:"+port+" HTTP/1.1" {
		t.Errorf("proxy saw %q", lines)
	}
}

func TestProxyRefusalNamesStatusNotPassword(t *testing.T) {
	for _, status := range []int{http.StatusProxyAuthRequired, http.StatusForbidden, http.StatusBadGateway} {
		p := newConnectProxy(t)
		p.status = status
		c := NewClient(Options{
			Proxy: p.url(t, "webhookd:s3cret"),
			// Two addresses: a 502 moves on to the next, 403 and 407 do not.
			Resolver: fakeResolver{"hooks.example": {"93.184.215.14", "93.184.215.15"}},
		})
		_, err := get(c, "https://hooks.example/")
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("answered %d %s", status, http.StatusText(status))) ||
			!strings.Contains(err.Error(), "CONNECT 93.184.215.14:443") {
			t.Errorf("%d: want an error naming the status, got %v", status, err)
			continue
		}
		if errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%d: a proxy refusal is not a blocked address: %v", status, err)
		}
		secret := base64.StdEncoding.EncodeToString([]byte("webhookd:s3cret"))
		if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, secret) {
			t.Errorf("%d: error reveals the credentials: %v", status, err)
		}
		wantTries := 1
		if status == http.StatusBadGateway {
			wantTries = 2
		}
		if lines, _, _ := p.seen(); len(lines) != wantTries {
			t.Errorf("%d: %d CONNECTs, want %d: %q", status, len(lines), wantTries, lines)
		}
	}
}

func TestProxyTriesNextAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := portOf(t, srv.URL)
	p := newConnectProxy(t)
	p.statusOf = map[string]int{"192.0.2.1:" + port: http.StatusServiceUnavailable}
	c := NewClient(Options{
		AllowPrivate: true,
		Proxy:        p.url(t, ""),
		Resolver:     fakeResolver{"hooks.example": {"192.0.2.1", "127.0.0.1"}},
	})
	if resp, err := get(c, "http://hooks.example:"+port+"/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if lines, _, _ := p.seen(); len(lines) != 2 || !strings.HasPrefix(lines[1], "CONNECT 127.0.0.1:") {
		t.Errorf("proxy saw %q", lines)
	}
}

func TestProxyHangHonoursContext(t *testing.T) {
	p := newConnectProxy(t)
	p.hang = true
	opts := Options{Proxy: p.url(t, ""), Resolver: fakeResolver{"hooks.example": {"93.184.215.14"}}}

	// Through the client: the request's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://hooks.example/", nil)
	start := time.Now()
	_, err := NewClient(opts).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("request: want DeadlineExceeded promptly, got %v after %v", err, time.Since(start))
	}

	// The dial itself, as the transport calls it, with a cancellation.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	conn, err := newProxyDialer(opts, newGuard(opts)).DialContext(ctx, "tcp", "hooks.example:443")
	if conn != nil || !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("dial: want Canceled promptly, got %v after %v", err, time.Since(start))
	}
}

func TestProxyRedirectsAreNotFollowed(t *testing.T) {
	var target atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/target" {
			target.Add(1)
			return
		}
		http.Redirect(w, r, "/target", http.StatusFound)
	}))
	defer srv.Close()
	p := newConnectProxy(t)
	c := NewClient(Options{AllowPrivate: true, Proxy: p.url(t, ""), Resolver: fakeResolver{}})
	resp, err := get(c, srv.URL+"/start")
	if err != nil || resp.StatusCode != http.StatusFound || target.Load() != 0 {
		t.Fatalf("redirect followed or failed: %v %v hits=%d", resp, err, target.Load())
	}
	if lines, _, _ := p.seen(); len(lines) != 1 {
		t.Errorf("proxy saw %q", lines)
	}
}

func TestProxyClientSettings(t *testing.T) {
	p := newConnectProxy(t)
	// The environment still plays no part, proxy or not.
	t.Setenv("HTTPS_PROXY", "http://elsewhere.example:3128")
	tr := NewClient(Options{Proxy: p.url(t, "u:p")}).Transport.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("transport has a Proxy func: it would send the host name for the proxy to resolve")
	}
	if tr.DialContext == nil || tr.DialTLSContext != nil || tr.DialTLS != nil || tr.Dial != nil { //nolint:staticcheck // checking deprecated hooks stay unset
		t.Error("dial hooks: want DialContext only, so the transport does TLS itself")
	}
}

func TestProxyBytesAfterAnswerBelongToTunnel(t *testing.T) {
	// A proxy may send the answer and the first tunnelled bytes in one
	// segment; reading the answer must not swallow them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tp := textproto.NewReader(bufio.NewReader(c))
		tp.ReadLine()
		tp.ReadMIMEHeader()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\nfirst bytes")
	}()
	opts := Options{Resolver: fakeResolver{"hooks.example": {"93.184.215.14"}}}
	opts.Proxy, _ = ParseProxyURL("http://" + ln.Addr().String())
	conn, err := newProxyDialer(opts, newGuard(opts)).DialContext(context.Background(), "tcp", "hooks.example:443")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(conn); string(got) != "first bytes" {
		t.Errorf("tunnel read %q, %v", got, err)
	}
}
