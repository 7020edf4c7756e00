// Package app is the webhookd program: Run reads the command line and the
// environment and runs a command (dev, api, worker, migrate, keygen, probe,
// version), each assembling webhookd's parts (Parts) in its own way.
// cmd/webhookd's main only calls Run; end-to-end tests run commands through
// Run too, or assemble the same Parts themselves.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/secrets"
)

// Version is stamped at release builds
// (-ldflags "-X github.com/webhookd/webhookd/internal/app.Version=...").
var Version = "0.1.0-dev"

const usage = `webhookd delivers webhooks durably.

Usage: webhookd <command>

Commands:
  dev      everything on one machine, zero setup (embedded Temporal + Web UI)
  api      the REST API only
  worker   the Temporal worker only
  migrate  create/update the schema and the Temporal search attributes, then exit
           (--reencrypt: re-encrypt webhook secrets under the current key)
  keygen   print a new ENCRYPTION_KEYS entry
  probe    GET a URL and exit 0 on 200 (container health checks)
  version  print the version

Configuration is read from the environment; see README.md. Among it:
  ALLOWED_HOSTS             host names the API answers to besides localhost,
                            IP addresses and HTTP_ADDR's host (others: 421);
                            comma-separated, .example.com for subdomains, * for any
  TENANT_MAX_WEBHOOKS       live webhooks per tenant (default 1000; 0: no quota)
  TENANT_EVENTS_PER_SECOND  events per second per tenant (default 1000; 0: no quota)
`

// Run is the whole program: main only wires the process to it, so tests can
// run it in-process with their own arguments, environment and output.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	var mode config.Mode
	switch args[0] {
	case "dev", "api", "worker", "migrate":
		mode = config.Mode(args[0])
	case "probe":
		if len(args) != 2 {
			return fmt.Errorf("usage: webhookd probe <url>")
		}
		return probe(ctx, args[1])
	case "keygen":
		// A new ENCRYPTION_KEYS entry; put it first to rotate (keep the
		// old ones after it until `webhookd migrate --reencrypt` has run).
		spec, err := secrets.GenerateSpec("k" + time.Now().UTC().Format("20060102"))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, spec)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, "webhookd", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	reencrypt := false
	if mode == config.ModeMigrate && len(args) == 2 && args[1] == "--reencrypt" {
		reencrypt, args = true, args[:1]
	}
	if len(args) > 1 {
		return fmt.Errorf("%s takes no arguments (configuration comes from the environment)", args[0])
	}
	cfg, err := config.Load(mode, getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("cmd", string(mode))
	switch mode {
	case config.ModeDev:
		return runDev(ctx, cfg, log, stdout)
	case config.ModeAPI:
		return runAPI(ctx, cfg, log)
	case config.ModeWorker:
		return runWorker(ctx, cfg, log)
	default:
		return runMigrate(ctx, cfg, log, reencrypt)
	}
}
