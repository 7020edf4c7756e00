package storetest

import (
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy between webhookd and its database that a test cuts
// (Cut: the database looks unreachable, every open connection drops) and
// restores (Restore), to test what a database outage does.
type Proxy struct {
	tb     testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool

	roundTrips atomic.Int64
}

// NewProxy forwards a free local port to the host:port of databaseURL; URL
// is databaseURL through it. It closes when the test ends.
func NewProxy(tb testing.TB, databaseURL string) *Proxy {
	tb.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{tb: tb, target: u.Host, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	tb.Cleanup(p.Cut)
	return p
}

// URL is databaseURL with its host replaced by the proxy's address.
func (p *Proxy) URL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		p.tb.Fatal(err)
	}
	u.Host = p.addr
	return u.String()
}

// Cut stops accepting connections and drops every open one.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Restore accepts connections again, on the same address.
func (p *Proxy) Restore() {
	p.tb.Helper()
	var (
		ln  net.Listener
		err error
	)
	// The port was free a moment ago; retry briefly in case the kernel
	// still holds it.
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.tb.Fatalf("proxy: listen again on %s: %v", p.addr, err)
}

// RoundTrips counts the round trips made through the proxy so far, as the
// server's ReadyForQuery messages: one ends each statement (or
// transaction command) a client waits for, and each connection's start-up.
// It reads the protocol: plain connections only (sslmode=disable, as the
// test URLs are).
func (p *Proxy) RoundTrips() int64 { return p.roundTrips.Load() }

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return // closed by Cut
			}
			go p.forward(in)
		}
	}()
}

func (p *Proxy) forward(in net.Conn) {
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = in.Close()
		return
	}
	if !p.track(in, out) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(io.MultiWriter(in, &readyCounter{n: &p.roundTrips}), out)
	<-done
	p.untrack(in, out)
}

// track registers a connection pair; false (both closed) when the proxy
// was cut meanwhile.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// readyCounter reads a PostgreSQL server's stream of messages (a type
// byte, a length, a body) and counts its ReadyForQuery ('Z') messages.
type readyCounter struct {
	n    *atomic.Int64
	head [5]byte
	have int // bytes of head read
	skip int // bytes of the current body left
}

func (c *readyCounter) Write(b []byte) (int, error) {
	for i := 0; i < len(b); {
		if c.skip > 0 {
			k := min(c.skip, len(b)-i)
			c.skip, i = c.skip-k, i+k
			continue
		}
		c.head[c.have] = b[i]
		c.have, i = c.have+1, i+1
		if c.have == len(c.head) {
			if c.head[0] == 'Z' {
				c.n.Add(1)
			}
			c.skip, c.have = int(binary.BigEndian.Uint32(c.head[1:]))-4, 0
		}
	}
	return len(b), nil
}
