package safehttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsBlocked(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "100.127.255.254", "224.0.0.1", "239.1.2.3", "0.0.0.0", "0.1.2.3", "255.255.255.255",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::a9fe:a9fe", // mapped, compatible, NAT64 (169.254.169.254)
		"fd00:ec2::254%eth0", "fe80::1%eth0", "ff02::1%lo", "64:ff9b::a00:1%eth0", // zoned forms
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2001:4860:4860::8888", "64:ff9b::808:808"}
	for _, s := range blocked {
		if !IsBlocked(netip.MustParseAddr(s)) {
			t.Errorf("%s should be blocked", s)
		}
	}
	for _, s := range allowed {
		if IsBlocked(netip.MustParseAddr(s)) {
			t.Errorf("%s should be allowed", s)
		}
	}
}

func TestClientRefusesPrivateAtDialTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{srv.URL, "http://localhost" + port} { // a name resolving to loopback too
		_, err := get(NewClient(Options{}), u)
		if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), "ALLOW_PRIVATE_ENDPOINTS") {
			t.Errorf("%s: want ErrBlockedAddress, got %v", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a refused request reached the server")
	}
	resp, err := get(NewClient(Options{AllowPrivate: true}), srv.URL)
	if err != nil || resp.StatusCode != 200 || hits.Load() != 1 {
		t.Fatalf("allowed: %v %v", resp, err)
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
	if err != nil || resp.StatusCode != http.StatusFound || target.Load() != 0 {
		t.Fatalf("redirect followed or failed: %v %v hits=%d", resp, err, target.Load())
	}
}

func TestProxyEnvironmentIgnored(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if resp, err := get(NewClient(Options{AllowPrivate: true}), srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("request went through the proxy: %v %v", resp, err)
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
