package doccheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Runner runs the blocks of documents.
type Runner struct {
	// Dir is where blocks run (the repository root), unless a block asks
	// for a new directory.
	Dir string
	// Env is the environment of every block.
	Env []string
	// Rewrite, when set, turns the addresses the documents name
	// (localhost:8080) into the ones the caller serves on.
	Rewrite *strings.Replacer
	// ReadyTimeout bounds the wait for a background block to answer (a
	// first build takes minutes); default 10 minutes.
	ReadyTimeout time.Duration
	// BlockTimeout bounds one foreground block; default 10 minutes.
	BlockTimeout time.Duration
	// PrintsTimeout bounds the wait, after the last block, for what a
	// background block must print; default 1 minute.
	PrintsTimeout time.Duration
	// Log, when set, receives every block's output as it runs.
	Log io.Writer
}

// prelude runs one block in bash as one line of a terminal session: the
// variables of the blocks before it, every command required to succeed
// (set -e, pipefail), each command traced (to name the one that failed),
// and its own variables saved for the next block.
const prelude = `__state=$1 __trace=$2 __block=$3 __save=$4
set --
set -a
. "$__state"
exec 3>"$__trace"
BASH_XTRACEFD=3
PS4='+${BASH_SOURCE[0]}:${LINENO}: '
set -eo pipefail
set -x
. "$__block"
{ set +x; } 2>/dev/null
if [ "$__save" = save ]; then
  export -n PWD OLDPWD SHLVL _ BASH_XTRACEFD PS4 2>/dev/null || true
  export -p > "$__state"
fi
`

// curlWrapper makes curl fail on an HTTP error status, as a reader would
// notice one, unless the command prints the status itself (-w).
const curlWrapper = `#!/bin/sh
for a in "$@"; do case "$a" in -w|--write-out) exec %[1]q "$@";; esac; done
exec %[1]q --fail-with-body "$@"
`

// RunFile runs blocks (of one document) in order, as one terminal session,
// and stops the servers they started. The error names the file and line
// of the command that failed and shows the end of its output.
func (r *Runner) RunFile(ctx context.Context, blocks []Block) (err error) {
	work, err := os.MkdirTemp("", "doccheck-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env, err := r.environment(work)
	if err != nil {
		return err
	}
	state := filepath.Join(work, "state")
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		return err
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for i, b := range blocks {
		if b.Skip != "" {
			r.logf("\n=== %s:%d: not run: %s\n", b.File, b.Line, b.Skip)
			continue
		}
		code := b.Code
		if r.Rewrite != nil {
			code = r.Rewrite.Replace(code)
		}
		file := filepath.Join(work, fmt.Sprintf("block%d.sh", i))
		if err := os.WriteFile(file, []byte(code), 0o600); err != nil {
			return err
		}
		dir := r.Dir
		if b.NewDir {
			if dir, err = os.MkdirTemp(work, "dir-*"); err != nil {
				return err
			}
		}
		trace := filepath.Join(work, fmt.Sprintf("trace%d", i))
		r.logf("\n=== %s:%d: running\n%s", b.File, b.Line, code)
		if b.Background != nil {
			s, err := r.start(ctx, b, dir, env, state, trace, file)
			if err != nil {
				return err
			}
			servers = append(servers, s)
			continue
		}
		if err := r.run(ctx, b, dir, env, state, trace, file); err != nil {
			return err
		}
	}
	for _, s := range servers {
		if err := s.waitPrints(ctx, orDefault(r.PrintsTimeout, time.Minute)); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format, args...)
	}
}

// environment is Env with the curl wrapper first on the PATH.
func (r *Runner) environment(work string) ([]string, error) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		return nil, fmt.Errorf("doccheck: the documents use curl: %w", err)
	}
	bin := filepath.Join(work, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bin, "curl"), fmt.Appendf(nil, curlWrapper, curl), 0o700); err != nil {
		return nil, err
	}
	env := make([]string, 0, len(r.Env)+1)
	path := os.Getenv("PATH")
	for _, kv := range r.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+bin+string(os.PathListSeparator)+path), nil
}

func (r *Runner) command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", prelude, "doccheck"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	// Its own process group, so that stopping it stops what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a foreground block to its end.
func (r *Runner) run(ctx context.Context, b Block, dir string, env []string, state, trace, file string) error {
	ctx, cancel := context.WithTimeout(ctx, orDefault(r.BlockTimeout, 10*time.Minute))
	defer cancel()
	var out bytes.Buffer
	cmd := r.command(ctx, dir, env, state, trace, file, "save")
	cmd.Stdout, cmd.Stderr = r.tee(&out), r.tee(&out)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	line, command := failedCommand(trace, file)
	at := b.Line
	if line > 0 {
		at = b.Line + line
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (still running after %s)", err, orDefault(r.BlockTimeout, 10*time.Minute))
	}
	return fmt.Errorf("%s:%d: %v\ncommand: %s\noutput:\n%s", b.File, at, err, command, tail(out.String(), 40))
}

func (r *Runner) tee(w io.Writer) io.Writer {
	if r.Log == nil {
		return w
	}
	return io.MultiWriter(w, r.Log)
}

// failedCommand reads a block's trace for the last line of the block that
// ran, and the commands traced on it (a pipeline traces each part).
func failedCommand(trace, file string) (int, string) {
	raw, err := os.ReadFile(trace)
	if err != nil {
		return 0, ""
	}
	entry := regexp.MustCompile(`^\++` + regexp.QuoteMeta(file) + `:(\d+): `)
	var (
		last     int
		commands []string
	)
	for _, l := range strings.Split(string(raw), "\n") {
		m := entry.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(l[m[2]:m[3]])
		if n != last {
			last, commands = n, nil
		}
		commands = append(commands, l[m[1]:])
	}
	return last, strings.Join(commands, " | ")
}

// server is a background block: a process group left running.
type server struct {
	block Block
	cmd   *exec.Cmd
	out   *syncBuffer
	done  chan struct{}
	err   error
}

// start runs a background block and waits until its URL answers.
func (r *Runner) start(ctx context.Context, b Block, dir string, env []string, state, trace, file string) (*server, error) {
	s := &server{block: b, out: &syncBuffer{}, done: make(chan struct{})}
	// Not ctx: the server outlives this call, and stop ends it.
	s.cmd = r.command(context.WithoutCancel(ctx), dir, env, state, trace, file, "keep")
	s.cmd.Stdout, s.cmd.Stderr = r.tee(s.out), r.tee(s.out)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", b.File, b.Line, err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()

	url := b.Background.ReadyURL
	if r.Rewrite != nil {
		url = r.Rewrite.Replace(url)
	}
	timeout := orDefault(r.ReadyTimeout, 10*time.Minute)
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if ready(ctx, client, url) {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s:%d: the server ended before %s answered: %v\noutput:\n%s", b.File, b.Line, url, s.err, tail(s.out.String(), 40))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s:%d: %s did not answer within %s\noutput:\n%s", b.File, b.Line, url, timeout, tail(s.out.String(), 40))
		}
	}
}

func ready(ctx context.Context, c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// waitPrints waits for what the block's directive says it prints.
func (s *server) waitPrints(ctx context.Context, within time.Duration) error {
	want := s.block.Background.Prints
	if want == "" {
		return nil
	}
	deadline := time.Now().Add(within)
	for !strings.Contains(s.out.String(), want) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s:%d: the server's output lacks %q\noutput:\n%s", s.block.File, s.block.Line, want, tail(s.out.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// stop ends the server's process group as Ctrl-C would, then for good.
func (s *server) stop() {
	pgid := -s.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-s.done
	}
	// Children that outlived the shell (go run's program) go with the group.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{"…"}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
