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
)

// lowest is the bottom of the range searched: well above the ports that
// services conventionally use (PostgreSQL 5432, Temporal 7233, 8080, 9091).
const lowest = 10000

// Listen binds host on a free port outside the kernel's ephemeral range
// (or, where that range leaves no room, on any free port).
func Listen(host string) (net.Listener, error) {
	lo, hi := searchRange()
	var lastErr error
	for range 64 {
		if hi <= lo {
			break
		}
		port := lo + rand.IntN(hi-lo)
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
// ip_local_port_range; elsewhere it assumes IANA's 49152.
func searchRange() (int, int) {
	hi := 49152
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				hi = n
			}
		}
	}
	return lowest, hi
}
