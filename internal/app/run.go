// Package app is the webhookd program: Run reads the command line and the
// environment and runs a command (dev, api, worker, migrate, keygen, probe,
// version), each assembling webhookd's parts (Parts) in its own way.
// cmd/webhookd's main only calls Run; end-to-end tests run commands through
// Run too, or assemble the same Parts themselves.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/webhookd/webhookd/internal/config"
)

// Version is stamped at release builds
// (-ldflags "-X github.com/webhookd/webhookd/internal/app.Version=...").
var Version = "0.1.0-dev"

// Run is the whole program: main only wires the process to it, so tests can
// run it in-process with their own arguments, environment and output.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return fmt.Errorf("no command given")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help":
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage())
			return nil
		}
		name, rest = rest[0], []string{"--help"}
	case "--version":
		name = "version"
	}
	cmd, ok := commandNamed(name)
	if !ok {
		fmt.Fprint(stderr, usage())
		return fmt.Errorf("unknown command %q", name)
	}
	inv, err := cmd.parse(rest)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, cmd)
		return nil
	}
	if err != nil {
		return err
	}
	switch cmd.name {
	case "probe":
		return probe(ctx, inv.args[0])
	case "keygen":
		return keygen(stdout, inv.tenantKey)
	case "version":
		fmt.Fprintln(stdout, "webhookd", Version)
		return nil
	}
	cfg, err := config.Load(cmd.mode, getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(stderr, cfg).With("cmd", cmd.name)
	switch cmd.mode {
	case config.ModeDev:
		return runDev(ctx, cfg, log, stdout)
	case config.ModeAPI:
		return runAPI(ctx, cfg, log)
	case config.ModeWorker:
		return runWorker(ctx, cfg, log)
	default:
		return runMigrate(ctx, cfg, log, inv.reencrypt)
	}
}
