package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDialControl(t *testing.T) {
	refuse, allow := newGuard(Options{}).dialControl, newGuard(Options{AllowPrivate: true}).dialControl
	for addr, wantKind := range map[string]string{
		"127.0.0.1:80": "loopback", "[::1]:443": "loopback", "10.1.2.3:443": "private",
		"[fe80::1%eth0]:80": "link-local", "[::ffff:169.254.169.254]:80": "link-local",
	} {
		err := refuse(context.Background(), "tcp", addr, nil)
		if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), wantKind) ||
			!strings.Contains(err.Error(), "ALLOW_PRIVATE_ENDPOINTS") {
			t.Errorf("%s: want a %s refusal naming ALLOW_PRIVATE_ENDPOINTS, got %v", addr, wantKind, err)
		}
		if err := allow(context.Background(), "tcp", addr, nil); err != nil {
			t.Errorf("%s with AllowPrivate: %v", addr, err)
		}
	}
	for _, addr := range []string{"8.8.8.8:443", "[2606:4700::1111]:443"} {
		if err := refuse(context.Background(), "tcp", addr, nil); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := refuse(context.Background(), "tcp", "not-an-address", nil); err == nil {
		t.Error("an address that cannot be judged must not be dialled")
	}
}

func TestClientRefusesPrivateAtDialTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	// The literal, and a name only the resolver turns into loopback: the check
	// must run on the address dialled, not on the URL.
	for _, u := range []string{srv.URL, "http://localhost" + port} {
		_, err := get(NewClient(Options{}), u)
		if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), "loopback") ||
			!strings.Contains(err.Error(), "ALLOW_PRIVATE_ENDPOINTS") {
			t.Errorf("%s: want a loopback ErrBlockedAddress, got %v", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a refused request reached the server")
	}
	resp, err := get(NewClient(Options{AllowPrivate: true}), srv.URL)
	if err != nil || resp.StatusCode != 200 || hits.Load() != 1 {
		t.Fatalf("allowed: %v %v hits=%d", resp, err, hits.Load())
	}
}

func TestClientRefusesIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	if _, err := get(NewClient(Options{}), srv.URL); !errors.Is(err, ErrBlockedAddress) || hits.Load() != 0 {
		t.Fatalf("%s: want ErrBlockedAddress, got %v hits=%d", srv.URL, err, hits.Load())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var target atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/target" {
			target.Add(1)
			return
		}
		http.Redirect(w, r, "/target", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := get(NewClient(Options{AllowPrivate: true}), srv.URL+"/start")
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/target" || target.Load() != 0 {
		t.Fatalf("redirect followed or failed: %v %v hits=%d", resp, err, target.Load())
	}
}

func TestProxyEnvironmentIgnored(t *testing.T) {
	// A working proxy that counts: were it used, requests would reach it.
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	defer proxy.Close()
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	// Loopback targets skip any proxy anyway, so only the transport's own
	// setting proves the point for them. (ProxyFromEnvironment also reads the
	// environment once per process, so the behavioural checks below could be
	// fooled by an earlier caller; this one cannot.)
	if tr := NewClient(Options{}).Transport.(*http.Transport); tr.Proxy != nil {
		t.Fatal("transport has a Proxy func: a proxy would dial past the address check")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if resp, err := get(NewClient(Options{AllowPrivate: true}), srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("direct request failed: %v %v", resp, err)
	}
	// A non-loopback target would go through the proxy, which sits on
	// loopback; dialling directly, the private target itself is refused.
	_, err := get(NewClient(Options{}), "http://10.0.0.1:9/")
	if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), "10.0.0.1 is a private") {
		t.Errorf("want the direct dial to 10.0.0.1 refused, got %v", err)
	}
	if proxied.Load() != 0 {
		t.Errorf("%d request(s) went through the proxy", proxied.Load())
	}
}

func TestClientSettings(t *testing.T) {
	c := NewClient(Options{})
	if c.Timeout != 0 {
		t.Errorf("client Timeout %v: deadlines belong to each request's context", c.Timeout)
	}
	tr := c.Transport.(*http.Transport)
	if tr.DialContext == nil || !tr.ForceAttemptHTTP2 || tr.MaxIdleConns < 128 || tr.MaxIdleConnsPerHost < 16 ||
		tr.IdleConnTimeout != 90*time.Second || tr.TLSHandshakeTimeout != 10*time.Second {
		t.Errorf("transport settings: %+v", tr)
	}
	// A custom TLS dialer would bypass the checked DialContext.
	if tr.DialTLSContext != nil || tr.DialTLS != nil || tr.Dial != nil { //nolint:staticcheck // checking deprecated hooks stay unset
		t.Error("a dial hook other than DialContext is set")
	}
}

func get(c *http.Client, url string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// TestSpecialRangesRefusedAtDialTime: every address of blockedAddrs is
// refused when a delivery dials it: as the URL's IP, through a name that
// resolves to it, and both through EGRESS_PROXY, where the proxy is never
// contacted. Public addresses pass the same checks.
func TestSpecialRangesRefusedAtDialTime(t *testing.T) {
	answers := map[string]netip.Addr{}
	for i, b := range blockedAddrs {
		answers[fmt.Sprintf("b%d", i)] = netip.MustParseAddr(b.addr).WithZone("")
	}
	for i, s := range publicAddrs {
		answers[fmt.Sprintf("p%d", i)] = netip.MustParseAddr(s)
	}
	res := newFakeDNS(t, answers)
	p := newConnectProxy(t)
	clients := map[string]*http.Client{
		"direct":        NewClient(Options{Resolver: res}),
		"through proxy": NewClient(Options{Resolver: res, Proxy: p.url(t, "")}),
	}
	for i, b := range blockedAddrs {
		ip := netip.MustParseAddr(b.addr)
		host := strings.ReplaceAll(ip.String(), "%", "%25")
		if ip.Is6() {
			host = "[" + host + "]"
		}
		urls := []string{"http://" + host + ":8080/hook"}
		if ip.Zone() == "" { // DNS has no zones
			urls = append(urls, fmt.Sprintf("https://b%d.hooks.test/hook", i))
		}
		for how, c := range clients {
			for _, u := range urls {
				if _, err := get(c, u); !errors.Is(err, ErrBlockedAddress) {
					t.Errorf("%s %s (%s): want ErrBlockedAddress, got %v", how, u, b.addr, err)
				}
			}
		}
	}
	if n := p.accepted.Load(); n != 0 {
		t.Errorf("the proxy was contacted %d time(s) for refused addresses", n)
	}

	g := newGuard(Options{})
	d := newProxyDialer(Options{Resolver: res, Proxy: p.url(t, "")}, g)
	for i, s := range publicAddrs {
		ap := netip.AddrPortFrom(netip.MustParseAddr(s), 443)
		if err := g.dialControl(context.Background(), "tcp", ap.String(), nil); err != nil {
			t.Errorf("direct dial to %s: %v", ap, err)
		}
		if _, err := d.targets(context.Background(), "tcp", fmt.Sprintf("p%d.hooks.test:443", i)); err != nil {
			t.Errorf("proxy targets for %s: %v", s, err)
		}
	}
}

// TestHostAddressRefusedAtDialTime: a receiver listening on one of this
// host's own addresses gets nothing, directly or through the proxy, even
// when that address is not in a special-purpose range (a public address
// on the host's interface).
func TestHostAddressRefusedAtDialTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	// The receiver is on 127.0.0.1; to the guard this host's address is
	// 93.184.215.14 (listed by the injected HostAddrs), which a name
	// resolves to, while the dial itself goes to the receiver.
	public := netip.MustParseAddr("93.184.215.14")
	hostAddrs := func() ([]netip.Addr, error) { return []netip.Addr{public}, nil }
	g := newGuard(Options{HostAddrs: hostAddrs})
	err := g.dialControl(context.Background(), "tcp", "93.184.215.14:443", nil)
	if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), "93.184.215.14 is an address of this host") {
		t.Errorf("direct: %v", err)
	}
	p := newConnectProxy(t)
	c := NewClient(Options{HostAddrs: hostAddrs, Proxy: p.url(t, ""), Resolver: fakeResolver{"self.example": {"93.184.215.14"}}})
	if _, err := get(c, "https://self.example/"); !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), "this host") {
		t.Errorf("through the proxy: %v", err)
	}
	if p.accepted.Load() != 0 || hits.Load() != 0 {
		t.Errorf("proxy contacted %d times, receiver %d times", p.accepted.Load(), hits.Load())
	}
}
