package doccheck

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// helperEnv, when set, makes the test binary a small server for background
// blocks: it serves HTTP on the address it holds and prints a line.
const helperEnv = "DOCCHECK_TEST_SERVE"

func TestMain(m *testing.M) {
	if addr := os.Getenv(helperEnv); addr != "" {
		fmt.Println("serving on", addr)
		_ = http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Println("got", r.Method, r.URL.Path)
		}))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func parse(t *testing.T, doc string) []Block {
	t.Helper()
	blocks, err := Parse("doc.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

func runner(t *testing.T) *Runner {
	return &Runner{Dir: t.TempDir(), Env: os.Environ(), BlockTimeout: time.Minute, ReadyTimeout: 30 * time.Second, PrintsTimeout: 2 * time.Second}
}

func TestRunCarriesVariablesAndNamesTheFailingLine(t *testing.T) {
	doc := "```sh\nID=$(echo abc | tr a-c x-z)\n```\n\n" + // fence on line 1
		"```sh\ntest \"$ID\" = xyz\necho ok \\\n  $ID\ntest \"$ID\" = abc\necho never\n```\n" // fence on line 5
	err := runner(t).RunFile(context.Background(), parse(t, doc))
	if err == nil {
		t.Fatal("a failing command passed")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "doc.md:9: ") || !strings.Contains(msg, `test xyz = abc`) || !strings.Contains(msg, "ok xyz") {
		t.Fatalf("error = %q, want doc.md:9, the command and its block's output", msg)
	}
}

func TestRunSkipsAndRunsInNewDirectories(t *testing.T) {
	r := runner(t)
	doc := "<!-- not run: would fail -->\n```sh\nfalse\n```\n" +
		"<!-- run in a new directory -->\n```sh\ntest -z \"$(ls -A)\"\ntouch x\n```\n" +
		"```sh\ntest ! -e x\n```\n"
	if err := r.RunFile(context.Background(), parse(t, doc)); err != nil {
		t.Fatal(err)
	}
}

// TestRunCurlFailsOnHTTPErrors: a request the API refuses fails its block,
// unless the command prints the status code itself.
func TestRunCurlFailsOnHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, `{"code":"not_found"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	r := runner(t)
	r.Rewrite = strings.NewReplacer("localhost:8080", strings.TrimPrefix(srv.URL, "http://"))
	ok := "```sh\ncurl -s localhost:8080/there\ncurl -s -o /dev/null -w '%{http_code}\\n' localhost:8080/missing   # 404\n```\n"
	if err := r.RunFile(context.Background(), parse(t, ok)); err != nil {
		t.Fatal(err)
	}
	bad := "```sh\ncurl -s localhost:8080/missing | cat\n```\n"
	err := r.RunFile(context.Background(), parse(t, bad))
	if err == nil || !strings.HasPrefix(err.Error(), "doc.md:2: ") || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("404 without -w: err = %v", err)
	}
}

func TestRunBackgroundServers(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := runner(t)
	r.Rewrite = strings.NewReplacer("localhost:9000", addr)
	r.Env = append(r.Env, "HELPER="+exe)
	serve := "<!-- background: ready when http://localhost:9000/ready answers; prints \"got POST /hook\" -->\n" +
		"```sh\n" + helperEnv + "=localhost:9000 \"$HELPER\"\n```\n"
	if err := r.RunFile(context.Background(), parse(t, serve+"```sh\ncurl -s -X POST localhost:9000/hook\n```\n")); err != nil {
		t.Fatal(err)
	}
	// Stopped with the file: the port is free again.
	if l, err := net.Listen("tcp", addr); err != nil {
		t.Fatalf("the background server still runs: %v", err)
	} else {
		l.Close()
	}
	err = r.RunFile(context.Background(), parse(t, serve+"```sh\ncurl -s localhost:9000/other\n```\n"))
	if err == nil || !strings.Contains(err.Error(), `lacks "got POST /hook"`) || !strings.HasPrefix(err.Error(), "doc.md:2: ") {
		t.Fatalf("missing output: err = %v", err)
	}
	err = r.RunFile(context.Background(), parse(t, "<!-- background: ready when http://localhost:9000/ answers -->\n```sh\nexit 3\n```\n"))
	if err == nil || !strings.Contains(err.Error(), "ended before") {
		t.Fatalf("a server that ends at once: err = %v", err)
	}
}
