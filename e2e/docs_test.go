package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/doccheck"
)

// docPorts are the ports the documents name, each served by the test on a
// free port instead: the API, Temporal's gRPC and Web UI, the worker's
// metrics and the quick start's receiver.
var docPorts = map[string]string{
	"8080": "HTTP_ADDR", "7233": "TEMPORAL_ADDRESS", "8233": "TEMPORAL_UI_ADDR", "9091": "METRICS_ADDR", "9000": "",
}

// TestDocsRun runs every sh block of README.md and docs/*.md, in order,
// each file as one terminal session against its own `webhookd dev` (the
// one its blocks start, as the quick start does, or one the test starts),
// so a command the docs show cannot stop working unnoticed. Blocks that
// cannot run here say why in the document (see internal/doccheck).
func TestDocsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs webhookd dev")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the documents' commands need %s (apt-get install %s): %v", tool, tool, err)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	for _, path := range files {
		name, _ := filepath.Rel(root, path)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blocks, err := doccheck.Parse(name, src)
			if err != nil {
				t.Fatal(err)
			}
			if !startsDev(blocks) {
				blocks = append([]doccheck.Block{{File: name + " (started by the test)", Code: "go run ./cmd/webhookd dev\n",
					Background: &doccheck.Background{ReadyURL: "http://localhost:8080/readyz"}}}, blocks...)
			}
			r := docsRunner(t, root)
			if err := r.RunFile(t.Context(), blocks); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// startsDev reports whether a document starts its own API server.
func startsDev(blocks []doccheck.Block) bool {
	return slices.ContainsFunc(blocks, func(b doccheck.Block) bool {
		return b.Background != nil && strings.Contains(b.Background.ReadyURL, ":8080")
	})
}

// docsRunner runs blocks in the repository with every port the documents
// name moved to a free one, state in a temporary DATA_DIR, and none of
// the test machine's webhookd settings.
func docsRunner(t *testing.T, root string) *doccheck.Runner {
	var pairs []string
	env := []string{"DATA_DIR=" + t.TempDir(), "LOG_LEVEL=warn"}
	for port, variable := range docPorts {
		addr := rig.FreeAddr(t)
		pairs = append(pairs, "localhost:"+port, addr, "127.0.0.1:"+port, addr)
		if variable != "" {
			env = append(env, variable+"="+addr)
		}
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(config.Variables, func(v config.Var) bool { return v.Name == name }) {
			env = append(env, kv)
		}
	}
	r := &doccheck.Runner{Dir: root, Env: env, Rewrite: strings.NewReplacer(pairs...),
		ReadyTimeout: 15 * time.Minute, BlockTimeout: 10 * time.Minute}
	if testing.Verbose() {
		r.Log = os.Stderr
	}
	return r
}
