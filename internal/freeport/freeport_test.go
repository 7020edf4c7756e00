package freeport

import (
	"io/fs"
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

// TestAddrNotHandedOutTwice: a released port is not handed out again by
// this process (until the range wraps), so two addresses a test takes one
// after the other (HTTP_ADDR, METRICS_ADDR, ...) never name the same port
// before their server binds it. Random picks did: among 1,000, a repeat
// is all but certain over some 20,000 ports.
func TestAddrNotHandedOutTwice(t *testing.T) {
	lo, hi := searchRange()
	if hi-lo < 2000 {
		t.Skipf("range %d–%d too small", lo, hi)
	}
	seen := map[string]bool{}
	for i := range 1000 {
		addr, err := Addr("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("pick %d: %s handed out again after its release", i, addr)
		}
		seen[addr] = true
	}
}

// TestEphemeralStartFallsBack: without a readable ip_local_port_range (no
// /proc, another OS) or with contents that name no port, the range ends
// at Linux's default start, 32768; the kernel's start is used when it
// reads.
func TestEphemeralStartFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
		want int
	}{
		{"no /proc", nil, fs.ErrNotExist, defaultEphemeralStart},
		{"unreadable", nil, fs.ErrPermission, defaultEphemeralStart},
		{"empty", []byte(""), nil, defaultEphemeralStart},
		{"not a number", []byte("low\thigh\n"), nil, defaultEphemeralStart},
		{"not a port", []byte("70000\t80000\n"), nil, defaultEphemeralStart},
		{"a kernel's own", []byte("40000\t60999\n"), nil, 40000},
	} {
		if got := ephemeralStart(tc.b, tc.err); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	// Listen works in the fallback range.
	hi := ephemeralStart(nil, fs.ErrNotExist)
	l, err := listenIn("127.0.0.1", lowest, hi)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if port := l.Addr().(*net.TCPAddr).Port; port < lowest || port >= hi {
		t.Fatalf("port %d outside the fallback range [%d, %d)", port, lowest, hi)
	}
}
