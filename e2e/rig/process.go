package rig

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/app"
)

// Process is a webhookd command a test runs: in-process (Start) or as a
// separate OS process (StartChild).
type Process struct {
	// Out collects what the command writes (its log included).
	Out *SyncBuffer
	// Cmd is the OS process of a child; nil in-process.
	Cmd *exec.Cmd

	what  string
	stop  func()
	done  chan struct{} // closed when the command has returned
	err   error         // what it returned, once done is closed
	ended bool          // Stop or Kill was asked for
}

// Start runs `webhookd args...` in-process with the environment env until
// the test ends (or Stop).
func Start(tb testing.TB, env map[string]string, args ...string) *Process {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{Out: &SyncBuffer{}, what: "webhookd " + strings.Join(args, " "), stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = app.Run(ctx, args, func(k string) string { return env[k] }, p.Out, p.Out)
	}()
	tb.Cleanup(func() {
		p.Stop(tb)
		p.logIfFailed(tb)
	})
	return p
}

// StartChild runs `webhookd args...` as a separate OS process (this test
// binary, see Main) with the environment env added to this one's, until
// the test ends (or Stop, or Kill).
func StartChild(tb testing.TB, env map[string]string, args ...string) *Process {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, " "))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Process{Out: &SyncBuffer{}, Cmd: cmd, what: "webhookd " + strings.Join(args, " ") + " (child)", done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Out, p.Out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p.stop = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	go func() { defer close(p.done); p.err = cmd.Wait() }()
	tb.Cleanup(func() {
		if !p.ended {
			p.ended = true
			_ = cmd.Process.Kill()
		}
		<-p.done
		p.logIfFailed(tb)
	})
	return p
}

// logIfFailed shows the command's output beside a failure.
func (p *Process) logIfFailed(tb testing.TB) {
	if tb.Failed() {
		tb.Logf("%s output:\n%s", p.what, p.Out)
	}
}

// Done is closed when the command has returned; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is what the command returned (nil before Done).
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Alive fails the test at once, with the command's output, if the command
// has ended without being asked to: a start-up error (a port in use) shows
// here, not as a delivery missing minutes later.
func (p *Process) Alive(tb testing.TB) {
	tb.Helper()
	select {
	case <-p.done:
		if !p.ended {
			tb.Fatalf("%s exited: %v\n%s", p.what, p.err, p.Out)
		}
	default:
	}
}

// WaitReady waits until url answers 200, failing at once if the command
// ends first.
func (p *Process) WaitReady(tb testing.TB, url string, within time.Duration) {
	tb.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(within)
	for {
		p.Alive(tb)
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %s never answered 200 within %v\n%s", p.what, url, within, p.Out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop asks the command to end (cancels it, or SIGTERMs a child) and waits
// up to a minute; it fails the test if the command then reports an error.
func (p *Process) Stop(tb testing.TB) {
	tb.Helper()
	if p.ended {
		return
	}
	p.ended = true
	p.stop()
	select {
	case <-p.done:
		if p.err != nil {
			tb.Errorf("%s exited with %v\n%s", p.what, p.err, p.Out)
		}
	case <-time.After(60 * time.Second):
		tb.Errorf("%s did not stop within 60s\n%s", p.what, p.Out)
	}
}

// Kill SIGKILLs a child: no shutdown, no flush, no deferred code.
func (p *Process) Kill(tb testing.TB) {
	tb.Helper()
	p.ended = true
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
	<-p.done
}

// SyncBuffer collects output written from several goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
