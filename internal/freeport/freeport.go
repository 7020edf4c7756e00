// Package freeport finds free TCP ports that the kernel will not hand to
// someone else a moment later.
//
// A port from net.Listen(":0") comes from the ephemeral range, the same
// range the kernel draws from for every outgoing connection. Between closing
// such a listener and the real server binding the port, a busy process
// (a test suite talking to PostgreSQL and Temporal) can connect out from it,
// and the server's listen fails with "address already in use". Ports below
// the ephemeral range are only ever taken by an explicit bind, so the
// window is no longer shared with every connection on the machine.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the bottom of the range searched: well above the ports that
// services conventionally use (PostgreSQL 5432, Temporal 7233, 8080, 9091).
const lowest = 10000

// next is the port this process tries next. Ports are tried in order from
// a random start, not at random: a port Addr handed out and released is not
// handed out again by this process before the range wraps, so addresses
// taken one after the other (a child's HTTP_ADDR, METRICS_ADDR, ...) are
// distinct even before their server binds them. The random start keeps
// processes that run side by side (test packages) apart.
var (
	mu   sync.Mutex
	next int
)

// Listen binds host on a free port outside the kernel's ephemeral range
// (or, where that range leaves no room, on any free port).
func Listen(host string) (net.Listener, error) {
	lo, hi := searchRange()
	return listenIn(host, lo, hi)
}

// listenIn binds host on a free port of [lo, hi), or on any free port.
func listenIn(host string, lo, hi int) (net.Listener, error) {
	var lastErr error
	for range 64 {
		if hi <= lo {
			break
		}
		port := claim(lo, hi)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return l, nil
		}
		lastErr = err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("freeport: %w", errors.Join(err, lastErr))
	}
	return l, nil
}

// claim returns the next port of [lo, hi) to try.
func claim(lo, hi int) int {
	mu.Lock()
	defer mu.Unlock()
	if next < lo || next >= hi {
		next = lo + rand.IntN(hi-lo)
	}
	port := next
	if next++; next >= hi {
		next = lo
	}
	return port
}

// Addr returns host:port of a free port on host (the port is released, so
// the caller's server can bind it).
func Addr(host string) (string, error) {
	l, err := Listen(host)
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// searchRange is [lowest, start of the ephemeral range), read from Linux's
// ip_local_port_range.
func searchRange() (int, int) {
	b, err := os.ReadFile(portRangeFile)
	return lowest, ephemeralStart(b, err)
}

// portRangeFile holds Linux's ephemeral port range ("32768\t60999").
const portRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// defaultEphemeralStart is assumed where the kernel's range cannot be read
// (no /proc, another OS, a sandbox): Linux's default start (32768), below
// IANA's 49152, so that a Linux kernel with its default range is avoided
// too.
const defaultEphemeralStart = 32768

// ephemeralStart reads the start of the ephemeral range from the contents
// of ip_local_port_range (or the error reading it), falling back to
// defaultEphemeralStart for anything that is not a port.
func ephemeralStart(b []byte, err error) int {
	if err != nil {
		return defaultEphemeralStart
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultEphemeralStart
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > 65535 {
		return defaultEphemeralStart
	}
	return n
}
