package safehttp

import (
	"fmt"
	"net/netip"
	"strings"
)

// specialRange is a prefix deliveries may not reach, or one that carries an
// IPv4 address (6to4, Teredo, NAT64, IPv4-mapped) and is judged on it.
type specialRange struct {
	prefix netip.Prefix
	kind   string
	// embedded, when set, returns the IPv4 addresses an address of this
	// range leads to; the address is refused when any of them is.
	embedded func(b [16]byte) []netip.Addr
}

func refused(prefix, kind string) specialRange {
	return specialRange{prefix: netip.MustParsePrefix(prefix), kind: kind}
}

func judgedOn(prefix, kind string, f func(b [16]byte) []netip.Addr) specialRange {
	return specialRange{prefix: netip.MustParsePrefix(prefix), kind: kind, embedded: f}
}

// specialRanges are the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (iana-ipv4-special-registry, iana-ipv6-special-registry):
// every entry that is not globally reachable, plus multicast, IPv6 outside
// global unicast (2000::/3) and the deprecated site-local range. A few
// globally reachable entries inside refused blocks stay refused (the PCP,
// TURN and DNS-SD anycast addresses in 192.0.0.0/24 and 2001::/23,
// ORCHIDv2): none of them is a webhook receiver. The longest matching
// prefix decides, so Teredo is judged on its IPv4 addresses although
// 2001::/23 is refused, and ::1 is loopback although ::/96 embeds IPv4.
var specialRanges = []specialRange{
	// IPv4
	refused("0.0.0.0/8", "unspecified (\"this network\")"),
	refused("10.0.0.0/8", "private"),
	refused("100.64.0.0/10", "CGNAT (shared address space)"),
	refused("127.0.0.0/8", "loopback"),
	refused("169.254.0.0/16", "link-local"),
	refused("172.16.0.0/12", "private"),
	refused("192.0.0.0/24", "IETF protocol assignment"),
	refused("192.0.2.0/24", "documentation (TEST-NET-1)"),
	refused("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
	refused("192.168.0.0/16", "private"),
	refused("198.18.0.0/15", "benchmarking"),
	refused("198.51.100.0/24", "documentation (TEST-NET-2)"),
	refused("203.0.113.0/24", "documentation (TEST-NET-3)"),
	refused("224.0.0.0/4", "multicast"),
	refused("240.0.0.0/4", "reserved"),
	refused("255.255.255.255/32", "broadcast"),

	// IPv6
	refused("::/128", "unspecified"),
	refused("::1/128", "loopback"),
	judgedOn("::/96", "IPv4-compatible", last32), // deprecated, still routed by some stacks
	judgedOn("::ffff:0:0/96", "IPv4-mapped", last32),
	refused("::ffff:0:0:0/96", "IPv4-translated"),
	judgedOn("64:ff9b::/96", "NAT64", last32),
	judgedOn("64:ff9b:1::/48", "local-use NAT64", localNAT64),
	refused("100::/64", "discard-only"),
	refused("100:0:0:1::/64", "dummy"),
	refused("2001::/23", "IETF protocol assignment"),
	judgedOn("2001::/32", "Teredo", teredo),
	refused("2001:2::/48", "benchmarking"),
	refused("2001:10::/28", "ORCHID (deprecated)"),
	refused("2001:20::/28", "ORCHIDv2"),
	refused("2001:db8::/32", "documentation"),
	judgedOn("2002::/16", "6to4", sixToFour),
	refused("3fff::/20", "documentation"),
	refused("5f00::/16", "segment routing (SRv6 SID)"),
	refused("fc00::/7", "private (unique local)"),
	refused("fe80::/10", "link-local"),
	refused("fec0::/10", "site-local (deprecated)"),
	refused("ff00::/8", "multicast"),
	// Outside global unicast (2000::/3) nothing is assigned for the
	// internet; the named ranges above are the more specific matches.
	refused("::/3", "reserved (not global unicast)"),
	refused("4000::/2", "reserved (not global unicast)"),
	refused("8000::/1", "reserved (not global unicast)"),
}

func last32(b [16]byte) []netip.Addr { return []netip.Addr{netip.AddrFrom4([4]byte(b[12:]))} }

// sixToFour: 2002:AABB:CCDD::/48 is the 6to4 site of AA.BB.CC.DD.
func sixToFour(b [16]byte) []netip.Addr { return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))} }

// teredo: 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC reaches the client at the
// inverted CCCC:CCCC (RFC 4380) through the server SSSS:SSSS.
func teredo(b [16]byte) []netip.Addr {
	client := [4]byte(b[12:])
	for i := range client {
		client[i] ^= 0xff
	}
	return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}
}

// localNAT64: a local-use prefix inside 64:ff9b:1::/48 may be /48, /56,
// /64 or /96 long, each placing the IPv4 address elsewhere (RFC 6052: the
// u octet, bits 64-71, and the suffix after the IPv4 address are zero).
// Which one the network uses is unknown here, so every reading the address
// allows is judged; an address that allows none is refused.
func localNAT64(b [16]byte) []netip.Addr {
	if b[8] != 0 {
		return nil
	}
	var out []netip.Addr
	for _, f := range []struct {
		v4     [4]byte
		suffix []byte
	}{
		{[4]byte{b[6], b[7], b[9], b[10]}, b[11:]},  // /48
		{[4]byte{b[7], b[9], b[10], b[11]}, b[12:]}, // /56
		{[4]byte(b[9:13]), b[13:]},                  // /64
		{[4]byte(b[12:]), nil},                      // /96
	} {
		if isZero(f.suffix) {
			out = append(out, netip.AddrFrom4(f.v4))
		}
	}
	return out
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// IsBlocked reports whether ip is in a range webhooks may not reach unless
// ALLOW_PRIVATE_ENDPOINTS is set. It does not know this host's own
// addresses; the delivery client checks those too when it dials.
func IsBlocked(ip netip.Addr) bool { return why(ip, nil) != "" }

// why says why ip may not be dialled ("a loopback address"), or "" when it
// may. isHost, when set, reports this host's own addresses.
func why(ip netip.Addr, isHost func(netip.Addr) bool) string {
	if !ip.IsValid() {
		return "an invalid address" // fail closed; the dialer never hands us one
	}
	// A zone (fd00::1%eth0) makes netip.Prefix.Contains answer false, yet the
	// kernel dials the address all the same: judge the address without it.
	ip = ip.WithZone("")
	if reason := special(ip, isHost); reason != "" {
		return reason
	}
	if isHost != nil && isHost(ip.Unmap()) {
		return "an address of this host"
	}
	return ""
}

// special judges ip by the most specific of specialRanges that holds it.
func special(ip netip.Addr, isHost func(netip.Addr) bool) string {
	best := -1
	for i, s := range specialRanges {
		if s.prefix.Contains(ip) && (best < 0 || s.prefix.Bits() > specialRanges[best].prefix.Bits()) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	s := specialRanges[best]
	if s.embedded == nil {
		return article(s.kind) + " " + s.kind + " address"
	}
	v4s := s.embedded(ip.As16())
	if len(v4s) == 0 {
		return article(s.kind) + " " + s.kind + " address"
	}
	for _, v4 := range v4s {
		if reason := why(v4, isHost); reason != "" {
			return fmt.Sprintf("%s %s address leading to %s, %s", article(s.kind), s.kind, v4, reason)
		}
	}
	return ""
}

func article(word string) string {
	if strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
