package safehttp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// blockedAddrs has addresses of every refused range (first and last
// address where it matters) with what the refusal must say. The dial-time
// tests run each of them directly, through a name and through a proxy.
var blockedAddrs = []struct{ addr, want string }{
	// IPv4 special-purpose registry
	{"0.0.0.0", "unspecified"}, {"0.1.2.3", "unspecified"},
	{"10.0.0.1", "private"}, {"10.255.255.255", "private"},
	{"100.64.0.1", "CGNAT"}, {"100.127.255.254", "CGNAT"},
	{"127.0.0.1", "loopback"}, {"127.255.0.9", "loopback"},
	{"169.254.169.254", "link-local"},
	{"172.16.5.4", "private"}, {"172.31.255.255", "private"},
	{"192.0.0.1", "IETF protocol assignment"}, {"192.0.0.170", "IETF protocol assignment"},
	{"192.0.2.1", "documentation (TEST-NET-1)"},
	{"192.88.99.1", "6to4 relay anycast"},
	{"192.168.1.1", "private"},
	{"198.18.0.1", "benchmarking"}, {"198.19.255.255", "benchmarking"},
	{"198.51.100.7", "documentation (TEST-NET-2)"},
	{"203.0.113.9", "documentation (TEST-NET-3)"},
	{"224.0.0.1", "multicast"}, {"239.1.2.3", "multicast"},
	{"240.0.0.1", "reserved"}, {"255.255.255.254", "reserved"},
	{"255.255.255.255", "broadcast"},
	// IPv6 special-purpose registry
	{"::", "unspecified"}, {"::1", "loopback"},
	{"::127.0.0.1", "IPv4-compatible address leading to 127.0.0.1, a loopback"},
	{"::a9fe:a9fe", "leading to 169.254.169.254, a link-local"},
	{"::ffff:127.0.0.1", "IPv4-mapped address leading to 127.0.0.1, a loopback"},
	{"::ffff:10.0.0.1", "10.0.0.1, a private"}, {"::ffff:0.0.0.0", "unspecified"},
	{"::ffff:0:8.8.8.8", "IPv4-translated"},
	{"64:ff9b::a9fe:a9fe", "NAT64 address leading to 169.254.169.254, a link-local"},
	{"64:ff9b::7f00:1", "127.0.0.1, a loopback"}, {"64:ff9b::c0a8:101", "192.168.1.1, a private"},
	{"64:ff9b:1::a00:1", "local-use NAT64 address leading to 10.0.0.1"},      // /96
	{"64:ff9b:1:a00:0:100::", "local-use NAT64 address leading to 10.0.0.1"}, // /48
	{"64:ff9b:1:0:a:0:100::", "local-use NAT64 address leading to 10.0.0.1"}, // /64
	{"64:ff9b:1:0:100::808:808", "local-use NAT64"},                          // u octet set: no reading
	{"100::1", "discard-only"}, {"100::ffff:ffff:ffff:ffff", "discard-only"},
	{"100:0:0:1::1", "dummy"},
	{"2001:1::1", "IETF protocol assignment"}, {"2001:4:112::1", "IETF protocol assignment"},
	{"2001:2::1", "benchmarking"}, {"2001:10::1", "ORCHID"}, {"2001:20::1", "ORCHIDv2"},
	{"2001:1ff:ffff::1", "IETF protocol assignment"},
	// Teredo server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe).
	{"2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo address leading to 127.0.0.1, a loopback"},
	{"2001:0:a00:1:8000:63bf:f7f7:f7f7", "Teredo address leading to 10.0.0.1, a private"}, // server 10.0.0.1
	{"2001:db8::1", "documentation"}, {"2001:db8:ffff::1", "documentation"},
	{"2002:a00:1::1", "6to4 address leading to 10.0.0.1, a private"},
	{"2002:7f00:1::", "127.0.0.1, a loopback"}, {"2002:a9fe:a9fe::1", "169.254.169.254"},
	{"3fff::1", "documentation"}, {"3fff:fff::1", "documentation"},
	{"5f00::1", "segment routing"},
	{"fc00::1", "private"}, {"fd12:3456::1", "private"},
	{"fe80::1", "link-local"}, {"febf::1", "link-local"},
	{"fec0::1", "site-local"},
	{"ff02::1", "multicast"},
	{"1::1", "reserved"}, {"4000::1", "reserved"}, {"8000::1", "reserved"},
	// A zone does not change where the kernel sends the packet.
	{"fd00:ec2::254%eth0", "private"}, {"fe80::1%eth0", "link-local"}, {"ff02::1%lo", "multicast"},
	{"64:ff9b::a00:1%eth0", "10.0.0.1, a private"}, {"::ffff:127.0.0.1%eth0", "loopback"},
}

// publicAddrs include the neighbours of refused ranges and the globally
// reachable entries of the registries (AS112, AMT, the NAT64 and 6to4
// forms of public addresses).
var publicAddrs = []string{
	"8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700::1111", "2001:4860:4860::8888",
	"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.1", "192.167.255.255", "192.169.0.0",
	"100.63.255.255", "100.128.0.1", "169.253.255.255", "169.255.0.0", "126.255.255.255", "128.0.0.0",
	"1.0.0.0", "223.255.255.255", "191.255.255.255", "192.0.1.0", "192.0.3.0", "198.17.255.255", "198.20.0.0",
	"198.51.99.255", "198.51.101.0", "203.0.112.255", "203.0.114.0", "192.88.98.255", "192.88.100.0",
	"192.31.196.1", "192.52.193.1", "192.175.48.1", // AS112, AMT, AS112
	"2620:4f:8000::1",             // AS112
	"2001:200::1", "2001:4860::1", // just past 2001::/23
	"2001:db7:ffff::1", "2001:db9::1", "3ffe:ffff::1", "3fff:1000::1", "2003::1",
	"::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "64:ff9b:1::808:808",
	"2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo: server 65.54.227.120, client 8.8.8.8
}

func TestSpecialPurposeRanges(t *testing.T) {
	for _, b := range blockedAddrs {
		ip := netip.MustParseAddr(b.addr)
		if !IsBlocked(ip) {
			t.Errorf("%s should be blocked", b.addr)
		}
		if got := why(ip, nil); !strings.Contains(got, b.want) {
			t.Errorf("%s: %q, want it to say %q", b.addr, got, b.want)
		}
	}
	for _, s := range publicAddrs {
		if got := why(netip.MustParseAddr(s), nil); got != "" {
			t.Errorf("%s should be allowed, is %s", s, got)
		}
	}
	// Fail closed: what cannot be judged is not dialled.
	if !IsBlocked(netip.Addr{}) {
		t.Error("the zero Addr should be blocked")
	}
}

// TestEveryRangeIsTested keeps the table and its tests together: a range
// added without an address in blockedAddrs fails here.
func TestEveryRangeIsTested(t *testing.T) {
	for _, s := range specialRanges {
		tested := false
		for _, b := range blockedAddrs {
			if ip := netip.MustParseAddr(b.addr).WithZone(""); s.prefix.Contains(ip) && mostSpecific(ip) == s.prefix {
				tested = true
				break
			}
		}
		if !tested {
			t.Errorf("no address of %s (%s) in blockedAddrs", s.prefix, s.kind)
		}
	}
}

func mostSpecific(ip netip.Addr) netip.Prefix {
	var best netip.Prefix
	for _, s := range specialRanges {
		if s.prefix.Contains(ip) && (!best.IsValid() || s.prefix.Bits() > best.Bits()) {
			best = s.prefix
		}
	}
	return best
}

func TestHostAddressesAreRefused(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	current := []netip.Addr{netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("2606:4700::1111")}
	reads := 0
	h := newHostAddrs(func() ([]netip.Addr, error) { reads++; return current, nil }, func() time.Time { return now })
	g := &guard{host: h}
	for _, s := range []string{"93.184.215.14", "::ffff:93.184.215.14", "2606:4700::1111", "2606:4700::1111%eth0",
		"2002:5db8:d70e::1", "64:ff9b::5db8:d70e"} { // 6to4 and NAT64 forms of this host
		if got := g.why(netip.MustParseAddr(s)); !strings.Contains(got, "an address of this host") {
			t.Errorf("%s: %q", s, got)
		}
	}
	if got := g.why(netip.MustParseAddr("8.8.8.8")); got != "" {
		t.Errorf("8.8.8.8: %q", got)
	}
	// A new address is seen once the list is older than hostAddrsRefresh.
	current = append(current, netip.MustParseAddr("8.8.8.8"))
	now = now.Add(hostAddrsRefresh - time.Second)
	if g.why(netip.MustParseAddr("8.8.8.8")) != "" || reads != 1 {
		t.Errorf("the list was read again before it was due (%d reads)", reads)
	}
	now = now.Add(time.Second)
	if got := g.why(netip.MustParseAddr("8.8.8.8")); !strings.Contains(got, "this host") || reads != 2 {
		t.Errorf("after a refresh 8.8.8.8: %q (%d reads)", got, reads)
	}
	// A failed read keeps the last list.
	h.list = func() ([]netip.Addr, error) { return nil, errors.New("netlink: no") }
	now = now.Add(hostAddrsRefresh)
	if got := g.why(netip.MustParseAddr("8.8.8.8")); !strings.Contains(got, "this host") {
		t.Errorf("after a failed read 8.8.8.8: %q", got)
	}
	// ALLOW_PRIVATE_ENDPOINTS allows them, as it allows the ranges.
	if got := (&guard{allowPrivate: true}).why(netip.MustParseAddr("127.0.0.1")); got != "" {
		t.Errorf("allowPrivate: %q", got)
	}
}

func TestInterfaceAddrsIncludeLoopback(t *testing.T) {
	addrs, err := interfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.IsLoopback() {
			return
		}
	}
	t.Fatalf("no loopback address among this host's interface addresses %v", addrs)
}
