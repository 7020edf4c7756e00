package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/e2e/rig"
	"github.com/webhookd/webhookd/internal/app"
	"github.com/webhookd/webhookd/internal/devserver"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/store/storetest"
)

// fatalTB records the first Fatal instead of failing the test, so that a
// test can check what the rig fails with.
type fatalTB struct {
	testing.TB
	msg chan string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg <- fmt.Sprint(args...)
	runtime.Goexit()
}

// TestAPortInUseFailsAtOnce: a worker whose metrics address is taken (a
// running worker holds 127.0.0.1:9091) ends at start-up; the rig says so at
// once, with the command's output, instead of a test waiting a minute for
// deliveries that never come.
func TestAPortInUseFailsAtOnce(t *testing.T) {
	ts, err := devserver.Start(context.Background(), devserver.Options{
		FrontendAddr: "127.0.0.1:0", Namespace: "default", SearchAttributes: runner.SearchAttributeTypes(),
		Logger: slog.New(slog.DiscardHandler), ServerLogLevel: slog.LevelError,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Stop)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	env := rig.Env(t)
	maps.Copy(env, map[string]string{"DATABASE_URL": storetest.PostgresURL(t), "TEMPORAL_ADDRESS": ts.FrontendAddr(),
		"METRICS_ADDR": taken.Addr().String()})
	if err := app.Run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}

	worker := rig.Start(t, env, "worker")
	tb := &fatalTB{TB: t, msg: make(chan string, 1)}
	start := time.Now()
	go worker.WaitReady(tb, "http://"+env["METRICS_ADDR"]+"/readyz", 2*time.Minute)
	msg := <-tb.msg
	if !strings.Contains(msg, "webhookd worker exited") || !strings.Contains(msg, "address already in use") {
		t.Fatalf("the rig failed with %q", msg)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the start-up error surfaced after %v", took)
	}
	worker.Stop(&quietTB{t}) // it has ended already, with its error
}

// quietTB ignores errors: for stopping a command that failed on purpose.
type quietTB struct{ testing.TB }

func (quietTB) Errorf(string, ...any) {}
