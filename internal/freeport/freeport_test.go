package freeport

import (
	"net"
	"testing"
)

func TestListenAvoidsTheEphemeralRange(t *testing.T) {
	lo, hi := searchRange()
	if hi <= lo {
		t.Skipf("no room below the ephemeral range (%d–%d)", lo, hi)
	}
	seen := map[int]bool{}
	for range 20 {
		l, err := Listen("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if port < lo || port >= hi {
			t.Fatalf("port %d outside [%d, %d)", port, lo, hi)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice while held", port)
		}
		seen[port] = true
	}
}

func TestAddrIsFreeToBind(t *testing.T) {
	addr, err := Addr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("bind %s: %v", addr, err)
	}
	l.Close()
}
