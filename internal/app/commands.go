package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/webhookd/webhookd/internal/config"
)

// command is one subcommand: what `webhookd <name> --help` says about it.
// Its variables come from internal/config, so the help cannot drift from
// what the command reads.
type command struct {
	name    string
	args    string // positional arguments, as in the usage line
	summary string // one line, for `webhookd --help`
	about   string // what it does, for `webhookd <name> --help`
	// mode is the configuration it loads; "" for commands that read none.
	mode config.Mode
}

var commands = []command{
	{name: "dev", mode: config.ModeDev,
		summary: "everything on one machine, zero setup (embedded Temporal + Web UI)",
		about: `Runs everything on one machine with zero setup: an embedded Temporal server
and its Web UI (state under DATA_DIR, so it survives restarts), the database
(DATABASE_URL, or SQLite under DATA_DIR), a worker, the API and the web
console. It prints their addresses once it serves. Ctrl-C stops it.`},
	{name: "api", mode: config.ModeAPI,
		summary: "the REST API and the web console",
		about: `Serves the REST API (/api/v1), the web console (/console/), /healthz,
/readyz and /metrics on HTTP_ADDR. With API_WORKER=true it also runs a
worker. It hands accepted deliveries to Temporal with OUTBOX_STARTER=api,
or under the default (auto) when it runs a worker; otherwise the workers
do, and it only looks for deliveries none started, every 15 s. Run as
many as you like. It refuses to start on a schema that is
behind (run migrate first) or when TEMPORAL_NAMESPACE does not exist.`},
	{name: "worker", mode: config.ModeWorker,
		summary: "the Temporal worker that makes the deliveries",
		about: `Runs the Temporal worker that makes the deliveries, with /metrics, /healthz
and /readyz on METRICS_ADDR. Unless OUTBOX_STARTER=api it also hands
accepted deliveries to Temporal, starting their workflows in this process.
Run as many as you like, on many machines. It exits non-zero if the worker
stops on a fatal error.`},
	{name: "migrate", mode: config.ModeMigrate,
		summary: "create/update the schema, search attributes and schedules, then exit",
		about: `Creates or updates the database schema, encrypts any webhook secret stored
in the clear, registers the Temporal search attributes and this deployment's
schedules (repairing one that targets another task queue), then exits. api
and worker refuse to start on a schema that is behind.`},
	{name: "keygen",
		summary: "print a new ENCRYPTION_KEYS entry",
		about: `Prints a new ENCRYPTION_KEYS entry (keyID:base64key). To rotate keys, put it
first and keep the old entries after it until ` + "`webhookd migrate --reencrypt`" + `
has run. Reads no configuration.`},
	{name: "probe", args: "<url>",
		summary: "GET a URL, exit 0 on 200 (container health checks)",
		about: `GETs url and exits 0 if it answers 200 within 5 seconds: a health check for
images without curl, e.g. webhookd probe http://127.0.0.1:8080/readyz.
Reads no configuration.`},
	{name: "version",
		summary: "print the version",
		about:   `Prints webhookd's version.`},
}

func commandNamed(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// invocation is a command line after its flags are parsed.
type invocation struct {
	args      []string
	reencrypt bool // migrate --reencrypt
	tenantKey bool // keygen --tenant-token-key
}

// flags declares the command's flags on a new set bound to inv.
func (c command) flags(inv *invocation) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help is printed by printHelp
	switch c.name {
	case "migrate":
		fs.BoolVar(&inv.reencrypt, "reencrypt", false, "also re-encrypt every webhook secret under the first ENCRYPTION_KEYS key, so that old keys can be removed")
	case "keygen":
		fs.BoolVar(&inv.tenantKey, "tenant-token-key", false, "print a new TENANT_TOKEN_KEY instead")
	}
	return fs
}

// parse reads the command's flags and arguments. -h and --help answer
// flag.ErrHelp.
func (c command) parse(args []string) (invocation, error) {
	var inv invocation
	fs := c.flags(&inv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return inv, err
		}
		return inv, fmt.Errorf("%s: %v (see webhookd %s --help)", c.name, err, c.name)
	}
	inv.args = fs.Args()
	switch {
	case c.args == "" && len(inv.args) > 0:
		return inv, fmt.Errorf("%s takes no arguments (configuration comes from the environment; see webhookd %s --help)", c.name, c.name)
	case c.args != "" && len(inv.args) != strings.Count(c.args, "<"):
		return inv, fmt.Errorf("usage: webhookd %s %s", c.name, c.args)
	}
	return inv, nil
}

// printHelp writes `webhookd <name> --help`: usage, what it does, its
// flags and the variables it reads, with their defaults.
func printHelp(w io.Writer, c command) {
	usage := "webhookd " + c.name
	var inv invocation
	fs := c.flags(&inv)
	fs.VisitAll(func(f *flag.Flag) { usage += " [--" + f.Name + "]" })
	if c.args != "" {
		usage += " " + c.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", usage, c.about)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	heading := "\nFlags:\n"
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(tw, "%s  --%s\t%s\n", heading, f.Name, f.Usage)
		heading = ""
	})
	if c.mode != "" {
		fmt.Fprint(tw, "\nEnvironment:\n")
		for _, v := range config.HelpFor(c.mode) {
			line := v.Help
			switch v.Default {
			case "":
			case "required":
				line += " (required)"
			default:
				line += " (default: " + v.Default + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", v.Name, line)
		}
	}
	tw.Flush()
}

// usage is `webhookd --help`.
func usage() string {
	var b strings.Builder
	b.WriteString("webhookd delivers webhooks durably.\n\nUsage: webhookd <command> [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	b.WriteString("\n`webhookd <command> --help` (or `webhookd help <command>`) says what a command\ndoes and which environment variables it reads.\n")
	return b.String()
}
