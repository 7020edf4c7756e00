package devserver

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/webhookd/webhookd/internal/freeport"
)

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// portPicker hands out distinct free ports. Each stays bound until release,
// so the kernel cannot give the same port twice while the server's ports are
// being chosen (closing each listener at once made that happen).
type portPicker struct {
	held []net.Listener
}

func (p *portPicker) pick(host string) (int, error) {
	l, err := freeport.Listen(host)
	if err != nil {
		return 0, fmt.Errorf("devserver: free port: %w", err)
	}
	p.held = append(p.held, l)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// release frees every picked port for the server to bind.
func (p *portPicker) release() {
	for _, l := range p.held {
		_ = l.Close()
	}
	p.held = nil
}

func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("devserver: %s is already in use (is another webhookd dev or Temporal running?): %w", addr, err)
	}
	return l.Close()
}

func waitListening(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: frontend %s did not come up: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
