package safehttp

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// hostAddrsRefresh is how old the list of this host's addresses may get
// before a dial reads it again (interfaces come and go: DHCP, containers).
const hostAddrsRefresh = time.Minute

// guard decides which addresses a delivery may be dialled to: none of the
// special-purpose ranges and none of this host's own addresses, unless
// ALLOW_PRIVATE_ENDPOINTS.
type guard struct {
	allowPrivate bool
	host         *hostAddrs
}

func newGuard(opts Options) *guard {
	g := &guard{allowPrivate: opts.AllowPrivate}
	if !opts.AllowPrivate {
		list := opts.HostAddrs
		if list == nil {
			list = interfaceAddrs
		}
		g.host = newHostAddrs(list, time.Now)
	}
	return g
}

// why says why ip may not be dialled, or "" when it may.
func (g *guard) why(ip netip.Addr) string {
	if g.allowPrivate {
		return ""
	}
	return why(ip, g.host.contains)
}

// hostAddrs is this host's addresses, read again when older than
// hostAddrsRefresh.
type hostAddrs struct {
	list func() ([]netip.Addr, error)
	now  func() time.Time

	mu   sync.Mutex
	set  map[netip.Addr]bool
	read time.Time
}

func newHostAddrs(list func() ([]netip.Addr, error), now func() time.Time) *hostAddrs {
	h := &hostAddrs{list: list, now: now}
	h.refresh()
	return h
}

func (h *hostAddrs) contains(ip netip.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.now().Sub(h.read) >= hostAddrsRefresh {
		h.refreshLocked()
	}
	return h.set[ip]
}

func (h *hostAddrs) refresh() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refreshLocked()
}

// refreshLocked rereads the list. A failed read keeps the last one: the
// special-purpose ranges, which cover most hosts' addresses, still apply.
func (h *hostAddrs) refreshLocked() {
	h.read = h.now()
	addrs, err := h.list()
	if err != nil {
		return
	}
	set := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		set[a.WithZone("").Unmap()] = true
	}
	h.set = set
}

// interfaceAddrs lists the addresses of this host's network interfaces.
func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip)
			}
		}
	}
	return out, nil
}
