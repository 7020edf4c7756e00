// Package rig is the shared rig of webhookd's end-to-end tests and
// benchmarks (e2e, e2e/bench). Every listener it starts is on a free port,
// so the suite never depends on 8080, 7233, 8233 or 9091 being free. It
// assembles webhookd in-process from the commands' own parts (Stack), runs
// its commands in-process or as separate OS processes (Start, StartChild),
// and has receivers that record what arrives. A process that fails to start
// (a port in use, a bad configuration) fails the test at once, with its
// output.
package rig

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"

	sdklog "go.temporal.io/sdk/log"

	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/freeport"
)

// childEnv, when set, makes a test binary run webhookd itself with the
// space-separated arguments it holds: StartChild starts webhookd as a
// separate OS process (to SIGKILL it) without building another binary.
const childEnv = "WEBHOOKD_TEST_CHILD_ARGS"

// ChildCPUProfile, in a child's environment, names a file the child writes
// its CPU profile to (go tool pprof); the profile is complete once the
// child was stopped (Process.Stop), not killed.
const ChildCPUProfile = "WEBHOOKD_TEST_CHILD_CPUPROFILE"

// cpuProfile starts a CPU profile into path ("" : none) and returns what
// ends it.
func cpuProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// Main is the TestMain of a package that uses StartChild: in a child it
// runs webhookd, otherwise the tests.
func Main(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		servePprof()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		endProfile := cpuProfile(os.Getenv(ChildCPUProfile))
		err := app.Run(ctx, strings.Fields(args), os.Getenv, os.Stdout, os.Stderr)
		endProfile()
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "webhookd:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// FreeAddr returns a loopback address no one listens on now, outside the
// ephemeral range so that no outgoing connection takes it before the
// test's server binds it (see internal/freeport).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := freeport.Addr("127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// EncryptionKeys is an ENCRYPTION_KEYS for commands run by tests.
const EncryptionKeys = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// Env is an environment for a webhookd command with every address it may
// listen on free (HTTP_ADDR, METRICS_ADDR, TEMPORAL_ADDRESS,
// TEMPORAL_UI_ADDR), quiet logs and the test encryption keys; set more (or
// override) as the test needs.
func Env(tb testing.TB) map[string]string {
	return map[string]string{
		"HTTP_ADDR": FreeAddr(tb), "METRICS_ADDR": FreeAddr(tb), "TEMPORAL_ADDRESS": FreeAddr(tb),
		"TEMPORAL_UI_ADDR": FreeAddr(tb), "ENCRYPTION_KEYS": EncryptionKeys, "LOG_LEVEL": "warn",
	}
}

// QuietSDKLogger is a Temporal SDK logger that says nothing.
func QuietSDKLogger() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }

// Secret is a Standard Webhooks signing secret for test webhooks.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
