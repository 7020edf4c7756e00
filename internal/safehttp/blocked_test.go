package safehttp

import (
	"net/netip"
	"strings"
	"testing"
)

func TestIsBlocked(t *testing.T) {
	// Each blocked address with the kind its refusal must name.
	blocked := map[string]string{
		"127.0.0.1": "loopback", "127.255.0.9": "loopback", "::1": "loopback",
		"10.0.0.1": "private", "172.16.5.4": "private", "172.31.255.255": "private", "192.168.1.1": "private",
		"fc00::1": "private", "fd12:3456::1": "private",
		"169.254.169.254": "link-local", "fe80::1": "link-local", "febf::1": "link-local",
		"100.64.0.1": "CGNAT", "100.127.255.254": "CGNAT",
		"224.0.0.1": "multicast", "239.1.2.3": "multicast", "ff02::1": "multicast",
		"0.0.0.0": "unspecified", "0.1.2.3": "unspecified", "::": "unspecified",
		"255.255.255.255": "broadcast",
		// IPv4-mapped, IPv4-compatible and NAT64 forms judge the embedded IPv4.
		"::ffff:127.0.0.1": "loopback", "::ffff:10.0.0.1": "private", "::ffff:0.0.0.0": "unspecified",
		"::127.0.0.1": "loopback", "::a9fe:a9fe": "link-local",
		"64:ff9b::a9fe:a9fe": "link-local", "64:ff9b::7f00:1": "loopback", "64:ff9b::c0a8:101": "private",
		// A zone does not change where the kernel sends the packet.
		"fd00:ec2::254%eth0": "private", "fe80::1%eth0": "link-local", "ff02::1%lo": "multicast",
		"64:ff9b::a00:1%eth0": "private", "::ffff:127.0.0.1%eth0": "loopback",
	}
	for s, want := range blocked {
		ip := netip.MustParseAddr(s)
		if !IsBlocked(ip) {
			t.Errorf("%s should be blocked", s)
		}
		if got := blockedKind(ip); !strings.Contains(got, want) {
			t.Errorf("%s: kind %q, want it to say %q", s, got, want)
		}
	}
	// Public addresses, including the neighbours of each blocked range.
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "2606:4700::1111", "2001:4860:4860::8888",
		"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.1", "192.167.255.255", "192.169.0.0",
		"100.63.255.255", "100.128.0.1", "169.253.255.255", "169.255.0.0", "126.255.255.255", "128.0.0.0",
		"1.0.0.0", "223.255.255.255",
		"fbff:ffff::1", "fe7f:ffff::1", "fec0::1", // just outside fc00::/7 and fe80::/10 (boundaries, not endorsements)
		"::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "64:ff9b:0:0:1::7f00:1", // last: outside the /96
	}
	for _, s := range allowed {
		if IsBlocked(netip.MustParseAddr(s)) {
			t.Errorf("%s should be allowed", s)
		}
	}
	// Fail closed: what cannot be judged is not dialled.
	if !IsBlocked(netip.Addr{}) {
		t.Error("the zero Addr should be blocked")
	}
}
