package safehttp

import "net/netip"

// blockedRange names each refused prefix so a refusal can say why.
type blockedRange struct {
	prefix netip.Prefix
	kind   string
}

var blockedRanges = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (\"this network\")"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "CGNAT (shared address space)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): a NAT64 gateway turns
// 64:ff9b::a9fe:a9fe into 169.254.169.254, so the embedded IPv4 decides.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// IsBlocked reports whether ip is an internal address webhooks may not reach
// unless ALLOW_PRIVATE_ENDPOINTS is set.
func IsBlocked(ip netip.Addr) bool { return blockedKind(ip) != "" }

// blockedKind says what kind of internal address ip is, or "" when it is
// public.
func blockedKind(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid" // fail closed; the dialer never hands us one
	}
	// A zone (fd00::1%eth0) makes netip.Prefix.Contains answer false, yet the
	// kernel dials the address all the same: judge the address without it.
	// Unmap so that ::ffff:10.0.0.1 is judged as 10.0.0.1.
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		b := ip.As16()
		// IPv4-compatible (::a.b.c.d, deprecated but still routed to the
		// IPv4 address by some stacks) embeds an IPv4 address; :: and ::1
		// share the zero prefix but are IPv6's own and fall to the table.
		compat := isZero(b[:12]) && !ip.IsUnspecified() && !ip.IsLoopback()
		if compat || nat64.Contains(ip) {
			return blockedKind(netip.AddrFrom4([4]byte(b[12:])))
		}
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
