// Command temporal-namespace prepares a freshly started Temporal server for
// webhookd and, if asked, checks that it runs workflows. It is what
// scripts/temporal-postgres.sh calls after starting the server, in place of
// the Temporal CLI (which does not build from the module proxy here).
//
// In order:
//
//  1. waits until the frontend answers its gRPC health check;
//  2. registers the namespace if it does not exist (an existing one is left
//     as it is, retention included);
//  3. waits until the namespace is served: DescribeNamespace and
//     ListSearchAttributes (the first call `webhookd migrate` makes) both
//     succeed. A new namespace takes a few seconds to reach the services'
//     caches;
//  4. with -search-attributes, registers webhookd's Keyword search attributes.
//     Not needed before `webhookd migrate`, which registers them itself;
//  5. with -workflows N, runs N copies of a naive one-activity workflow with an
//     in-process worker on a private task queue, -concurrency starters at a
//     time, and prints the throughput and latencies. -workflows 1 is the
//     smoke test: one workflow, its result checked.
//
// Everything polls until -timeout, then fails with the last error seen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/webhookd/webhookd/internal/runner"
)

func main() {
	address := flag.String("address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port")
	namespace := flag.String("namespace", envOr("TEMPORAL_NAMESPACE", "default"), "namespace to create and wait for")
	retention := flag.Duration("retention", 168*time.Hour, "retention of closed workflows, for a namespace created now")
	timeout := flag.Duration("timeout", 2*time.Minute, "how long to wait for the server and the namespace")
	searchAttrs := flag.Bool("search-attributes", false, "also register webhookd's search attributes (`webhookd migrate` does it too)")
	workflows := flag.Int("workflows", 0, "then run this many naive one-activity workflows and report their throughput (0: none)")
	concurrency := flag.Int("concurrency", 32, "with -workflows: workflows started and awaited at once")
	pollers := flag.Int("wft-pollers", 2, "with -workflows: the worker's MaxConcurrentWorkflowTaskPollers (SDK default 2)")
	eager := flag.Bool("eager", false, "with -workflows: request eager workflow start (the starter runs the worker)")
	flag.Parse()

	// The SDK logs every retry at INFO and every poller it stops at WARN;
	// this program reports what went wrong itself.
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	opts := client.Options{HostPort: *address, Namespace: *namespace, Logger: logger}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := prepare(ctx, opts, *retention, *searchAttrs); err != nil {
		fail("%v", err)
	}
	if *workflows > 0 {
		// Its own deadline: a long run should not eat into the wait above.
		if err := runWorkflows(opts, *workflows, *concurrency, *pollers, *eager, *timeout); err != nil {
			fail("workflow check: %v", err)
		}
	}
}

func prepare(ctx context.Context, opts client.Options, retention time.Duration, searchAttrs bool) error {
	// Lazy: Dial would fail at once while the server is still starting.
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer c.Close()
	if err := poll(ctx, "frontend "+opts.HostPort+" to answer its health check", func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}); err != nil {
		return err
	}

	nc, err := client.NewNamespaceClient(opts)
	if err != nil {
		return fmt.Errorf("namespace client: %w", err)
	}
	defer nc.Close()
	created := false
	if err := poll(ctx, "namespace "+opts.Namespace+" to exist", func(ctx context.Context) error {
		_, err := nc.Describe(ctx, opts.Namespace)
		if _, missing := errors.AsType[*serviceerror.NamespaceNotFound](err); !missing {
			return err // nil, or an error worth retrying
		}
		err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        opts.Namespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			Description:                      "created by scripts/temporal-postgres.sh",
		})
		if _, exists := errors.AsType[*serviceerror.NamespaceAlreadyExists](err); exists {
			return nil // another process was quicker
		}
		if err == nil {
			created = true
		}
		return err
	}); err != nil {
		return err
	}
	if created {
		fmt.Printf("namespace %s registered (retention %s)\n", opts.Namespace, retention)
	}

	if err := poll(ctx, "namespace "+opts.Namespace+" to be served", func(ctx context.Context) error {
		if _, err := nc.Describe(ctx, opts.Namespace); err != nil {
			return err
		}
		_, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: opts.Namespace})
		return err
	}); err != nil {
		return err
	}
	if searchAttrs {
		if err := runner.EnsureSearchAttributes(ctx, c, opts.Namespace); err != nil {
			return err
		}
		fmt.Printf("search attributes registered in %s\n", opts.Namespace)
	}
	return nil
}

// The naive workflow: one regular activity, so a workflow costs two workflow
// tasks and one activity task, as the baseline of the README's benchmark.
const (
	checkWorkflowName = "TemporalPostgresCheck"
	checkActivityName = "TemporalPostgresCheckEcho"
)

func checkWorkflow(ctx workflow.Context, in string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, checkActivityName, in).Get(ctx, &out)
	return out, err
}

func echo(_ context.Context, in string) (string, error) { return "echo:" + in, nil }

func runWorkflows(opts client.Options, n, concurrency, pollers int, eager bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()

	// A task queue of its own: nothing else polls it, and nothing left over
	// from an earlier run can pick up these workflows.
	queue := "temporal-postgres-check-" + uuid.NewString()[:8]
	w := worker.New(c, queue, worker.Options{
		MaxConcurrentWorkflowTaskPollers:       pollers,
		MaxConcurrentActivityExecutionSize:     200,
		MaxConcurrentWorkflowTaskExecutionSize: 200,
	})
	w.RegisterWorkflowWithOptions(checkWorkflow, workflow.RegisterOptions{Name: checkWorkflowName})
	w.RegisterActivityWithOptions(echo, activity.RegisterOptions{Name: checkActivityName})
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer w.Stop()

	one := func(i int) (time.Duration, error) {
		in := fmt.Sprintf("%s-%d", queue, i)
		begin := time.Now()
		var run client.WorkflowRun
		// History and matching learn of a new namespace a few seconds after
		// the frontend does: until then a start fails with NamespaceNotFound.
		err := poll(ctx, "start of "+in, func(context.Context) error {
			var err error
			run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: in, TaskQueue: queue, EnableEagerStart: eager, WorkflowExecutionTimeout: time.Minute,
			}, checkWorkflowName, in)
			if _, retry := errors.AsType[*serviceerror.NamespaceNotFound](err); retry {
				return err
			}
			if err != nil {
				return permanent{err}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", in, err)
		}
		var out string
		if err := run.Get(ctx, &out); err != nil {
			return 0, fmt.Errorf("result of %s: %w", in, err)
		}
		if out != "echo:"+in {
			return 0, fmt.Errorf("result of %s: got %q, want %q", in, out, "echo:"+in)
		}
		return time.Since(begin), nil
	}

	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	begin := time.Now()
	for range min(concurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				d, err := one(i)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel() // stop the others: one failure decides
				}
				if err == nil {
					latencies = append(latencies, d)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if firstErr != nil {
		return firstErr
	}
	if n == 1 {
		fmt.Printf("workflow %s-1 completed with the expected result in %s\n", queue, elapsed.Round(time.Millisecond))
		return nil
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		return latencies[int(p*float64(len(latencies)-1))].Round(time.Millisecond)
	}
	fmt.Printf("workflows: %d completed in %s: %.1f workflows/s; start-to-result p50 %s, p99 %s, max %s\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), pct(0.5), pct(0.99), pct(1))
	fmt.Printf("  (one regular activity each; %d concurrent starters; MaxConcurrentWorkflowTaskPollers %d; eager start %t)\n",
		min(concurrency, n), pollers, eager)
	return nil
}

// poll calls f until it succeeds or ctx ends, and then reports the last error.
func poll(ctx context.Context, what string, f func(context.Context) error) error {
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = f(attempt)
		cancel()
		if last == nil {
			return nil
		}
		if final, ok := errors.AsType[permanent](last); ok {
			return final.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for %s: %w", what, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// permanent marks an error that poll returns at once instead of retrying.
type permanent struct{ err error }

func (b permanent) Error() string { return b.err.Error() }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "temporal-namespace: "+format+"\n", args...)
	os.Exit(1)
}
