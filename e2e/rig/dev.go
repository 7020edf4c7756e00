package rig

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Dev is `webhookd dev` run in-process.
type Dev struct {
	*Process
	// API and UI are the addresses of the API and the Temporal Web UI.
	API, UI string
}

// DevEnv is the environment of a `webhookd dev` keeping its state in
// dataDir, every listener on a free port. It names no ENCRYPTION_KEYS: dev
// makes its own key in dataDir.
func DevEnv(tb testing.TB, dataDir string) map[string]string {
	env := Env(tb)
	env["DATA_DIR"] = dataDir
	delete(env, "ENCRYPTION_KEYS")
	return env
}

// StartDev runs `webhookd dev` in-process with env (see DevEnv).
func StartDev(tb testing.TB, env map[string]string) *Dev {
	tb.Helper()
	return &Dev{Process: Start(tb, env, "dev"), API: env["HTTP_ADDR"], UI: env["TEMPORAL_UI_ADDR"]}
}

// Ready waits until /readyz goes green (the embedded Temporal server, the
// database, the worker and the API are up).
func (d *Dev) Ready(tb testing.TB) {
	tb.Helper()
	d.WaitReady(tb, "http://"+d.API+"/readyz", 90*time.Second)
}

// HTTPDo sends a JSON request (a PATCH as a JSON Patch, the only form the
// API takes) and returns the status and body.
func HTTPDo(tb testing.TB, method, url, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/json-patch+json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
