// Package config reads webhookd's configuration from the environment, applies
// defaults and validates every value, naming the variable that is wrong.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/secrets"
)

// Mode is the subcommand being run; some defaults depend on it.
type Mode string

const (
	ModeDev     Mode = "dev"
	ModeAPI     Mode = "api"
	ModeWorker  Mode = "worker"
	ModeMigrate Mode = "migrate"
)

// Config is every setting webhookd reads.
type Config struct {
	Mode Mode
	// DatabaseURL is a postgres:// URL or, in dev, a sqlite file path.
	DatabaseURL     string
	TemporalAddress string
	// Temporal says how to connect beyond the address (TLS, API key).
	Temporal          TemporalConnection
	TemporalUIAddr    string
	TemporalNamespace string
	TaskQueue         string
	HTTPAddr          string
	DataDir           string
	APIToken          string
	// AllowOpenAPI lets `api` run without API_TOKEN (API_OPEN=true).
	AllowOpenAPI          bool
	AllowPrivateEndpoints bool
	RetentionDays         int
	LogLevel              slog.Level
	// LogFormat is "text" (logfmt-like key=value lines) or "json" (one
	// object per line, for log collectors).
	LogFormat string
	// WorkerConcurrency bounds concurrent deliveries per worker process.
	WorkerConcurrency int
	// WorkflowCacheSize bounds the workflows a worker process keeps in
	// memory between their workflow tasks (Temporal's sticky cache; at
	// least WorkerConcurrency, which the workflows in flight pin there).
	WorkflowCacheSize int
	// TenantTokenKeys sign and verify tenant tokens: the first signs, all
	// verify (TENANT_TOKEN_KEY, then TENANT_TOKEN_KEY_PREVIOUS while a key
	// is rotated). Empty turns tenant tokens off, except in dev, which keeps
	// a generated key under DATA_DIR.
	TenantTokenKeys []string
	// StartWindow bounds deliveries handed to Temporal but not yet
	// attempted, across every api replica (the starter's admission window;
	// those waiting for a webhook's limits are bounded apart): 100, or
	// DevStartWindow in dev. The most: a starter's adaptive window claims
	// against fewer, down to StartWindowMin (dispatch.adaptiveWindow).
	StartWindow int
	// StartWindowMin is where the adaptive start window begins and the
	// least it shrinks to (16; START_WINDOW if smaller); START_WINDOW_MIN
	// = START_WINDOW turns the adaptation off.
	StartWindowMin int
	// APIWorker runs a worker inside `webhookd api` too, so that workflows
	// it starts begin in the same process (eager start).
	APIWorker bool
	// OutboxStarter is the command whose processes start the delivery
	// workflows of the deliveries committed to the outbox: StarterAuto
	// (the default: see APIStarts and WorkersStart), StarterAPI or
	// StarterWorker. A start is eager (the workflow's first task comes back
	// with the start, to the worker that made it) only in a process that
	// runs a worker. `webhookd dev` runs both in one.
	OutboxStarter string
	// MetricsAddr is where `webhookd worker` serves /metrics, /healthz and
	// /readyz (api and dev serve them with the API).
	MetricsAddr string
	// EgressProxy, when set, carries every delivery (HTTP CONNECT); the
	// address check still runs on the endpoint. It may hold a password:
	// print it only with Redacted.
	EgressProxy *url.URL
	// TemporalUIURL is the Temporal Web UI as a browser reaches it; the
	// console links each delivery to its workflow there. Dev defaults to
	// its embedded UI; elsewhere empty hides the links.
	TemporalUIURL string
	// AllowedHosts are the names, besides loopback names and IP addresses,
	// that the API answers to in a request's Host (ALLOWED_HOSTS, and
	// HTTP_ADDR's host when it is a name); AllowAnyHost answers every name
	// (ALLOWED_HOSTS=*). Other names get 421: a page whose own name was
	// rebound to this server's address (DNS rebinding) cannot read it.
	AllowedHosts []string
	AllowAnyHost bool
	// TenantMaxWebhooks caps each tenant's live webhooks and
	// TenantEventsPerSecond its events (on average; one second's worth,
	// at least 500, at once), across every replica; 0 turns a quota off.
	// The admin token is held to them too: a quota protects the others
	// from a tenant's load, whoever posts it.
	TenantMaxWebhooks     int
	TenantEventsPerSecond int
	// TenantMaxEventTypes caps each tenant's live event types (global
	// ones have no cap); 0 turns it off.
	TenantMaxEventTypes int
	// ConsoleFrameAncestors are the origins that may show the console in a
	// frame (CSP frame-ancestors); empty allows none.
	ConsoleFrameAncestors []string
	// Keyring encrypts webhook secrets at rest (ENCRYPTION_KEYS); dev keeps
	// a generated one under DATA_DIR when none is set.
	Keyring *secrets.Keyring
	// Tracing is the OpenTelemetry trace export (OTEL_* variables).
	Tracing Tracing
}

// MinTenantTokenKey is the shortest TENANT_TOKEN_KEY accepted.
const MinTenantTokenKey = 32

// OUTBOX_STARTER's values.
const (
	StarterAuto   = "auto"
	StarterAPI    = "api"
	StarterWorker = "worker"
)

// APIStarts reports whether `webhookd api` starts the delivery workflows
// itself. Under auto it does when it runs a worker (API_WORKER), so that
// its starts are eager; without one its starts would each wait for a
// worker's poll, so it leaves them to the workers, wakes their starters
// and keeps only the backstop.
func (c Config) APIStarts() bool {
	return c.OutboxStarter == StarterAPI || c.OutboxStarter == StarterAuto && c.APIWorker
}

// WorkersStart reports whether `webhookd worker` starts delivery
// workflows (eagerly: it runs the worker they start on). Under auto it
// does, beside an api that starts too (API_WORKER): claims are shared
// without double starts.
func (c Config) WorkersStart() bool { return c.OutboxStarter != StarterAPI }

// DevStartWindow is START_WINDOW's default in `webhookd dev`. The window
// needs to cover deliveries per second times the start-to-attempt latency;
// more only queues work in front of Temporal. With a Temporal cluster of its
// own that latency is tens of milliseconds, and 100 keeps thousands of
// deliveries/s flowing while the server keeps up (the adaptive window
// keeps fewer while it does not). `webhookd dev` runs its Temporal server in the same
// process as everything else, on the same cores: a start reaches its
// attempt in a few milliseconds, so 8 delivered as fast as 100 (measured
// with one busy webhook; a slow receiver's backlog drains at its
// maxConcurrency either way), while a deeper window is a queue that every
// other tenant's delivery waits behind for the CPU (docs/architecture.md,
// Sizing). Deliveries waiting for a limit hold no place in it, so
// throttled webhooks cannot fill it.
const DevStartWindow = 8

// DefaultStartWindowMin is START_WINDOW_MIN's default: on the
// production-like benchmark, a window of 16 delivered a burst as fast as
// 100 did (docs/performance.md).
const DefaultStartWindowMin = 16

func startWindow(mode Mode) int {
	if mode == ModeDev {
		return DevStartWindow
	}
	return 100
}

// Load builds the Config for mode from getenv. Every invalid value is
// reported, each naming its variable.
func Load(mode Mode, getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Mode:              mode,
		DatabaseURL:       r.str("DATABASE_URL", ""),
		TemporalAddress:   r.hostPort("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalUIAddr:    r.hostPort("TEMPORAL_UI_ADDR", "127.0.0.1:8233"),
		TemporalNamespace: r.name("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:         r.name("TEMPORAL_TASK_QUEUE", "webhooks"),
		HTTPAddr:          r.hostPort("HTTP_ADDR", "127.0.0.1:8080"),
		DataDir:           r.str("DATA_DIR", "./data"),
		APIToken:          r.str("API_TOKEN", ""),
		AllowOpenAPI:      r.boolean("API_OPEN", false),
		// Dev points at local receivers; everything else faces the internet.
		AllowPrivateEndpoints: r.boolean("ALLOW_PRIVATE_ENDPOINTS", mode == ModeDev),
		RetentionDays:         r.intRange("RETENTION_DAYS", 7, 1, 3650),
		LogLevel:              r.level("LOG_LEVEL", slog.LevelInfo),
		LogFormat:             r.oneOf("LOG_FORMAT", "text", "json"),
		WorkerConcurrency:     r.intRange("WORKER_CONCURRENCY", 200, 1, 10000),
		StartWindow:           r.intRange("START_WINDOW", startWindow(mode), 1, 100000),
		StartWindowMin:        r.intRange("START_WINDOW_MIN", DefaultStartWindowMin, 1, 100000),
		APIWorker:             r.boolean("API_WORKER", false),
		OutboxStarter:         r.oneOf("OUTBOX_STARTER", StarterAuto, StarterAPI, StarterWorker),
		MetricsAddr:           r.hostPort("METRICS_ADDR", "127.0.0.1:9091"),
		TenantMaxWebhooks:     r.intRange("TENANT_MAX_WEBHOOKS", 1000, 0, 10_000_000),
		TenantEventsPerSecond: r.intRange("TENANT_EVENTS_PER_SECOND", 1000, 0, 1_000_000),
		TenantMaxEventTypes:   r.intRange("TENANT_MAX_EVENT_TYPES", 1000, 0, 10_000_000),
	}
	c.WorkflowCacheSize = r.workflowCacheSize(c.WorkerConcurrency)
	if v := r.str("ENCRYPTION_KEYS", ""); v != "" {
		// Not r.fail: the value is key material.
		k, err := secrets.ParseKeyring(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("ENCRYPTION_KEYS: %w", err))
		}
		c.Keyring = k
	} else if mode != ModeDev {
		r.errs = append(r.errs, errors.New("ENCRYPTION_KEYS: required outside `webhookd dev` (webhook secrets are encrypted at rest); `webhookd keygen` prints one"))
	}
	if v := r.str("EGRESS_PROXY", ""); v != "" {
		// Not r.fail: the value is not echoed, it may hold a password.
		proxy, err := safehttp.ParseProxyURL(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("EGRESS_PROXY: %w", err))
		}
		c.EgressProxy = proxy
	}
	c.TenantTokenKeys = r.tokenKeys()
	c.Tracing = r.tracing()
	c.Temporal = r.temporalConnection()
	uiDefault := ""
	if mode == ModeDev {
		uiDefault = "http://" + c.TemporalUIAddr
	}
	c.TemporalUIURL = r.httpURL("TEMPORAL_UI_URL", uiDefault)
	c.ConsoleFrameAncestors = r.origins("CONSOLE_FRAME_ANCESTORS")
	c.AllowedHosts, c.AllowAnyHost = r.allowedHosts(c.HTTPAddr)
	if c.Temporal.TLS != nil && mode == ModeDev {
		r.errs = append(r.errs, errors.New("TEMPORAL_TLS, TEMPORAL_API_KEY: `webhookd dev` runs its own Temporal server, without TLS; these are for api, worker and migrate"))
	}
	if c.DatabaseURL != "" {
		if err := checkDatabaseURL(c.DatabaseURL, mode); err != nil {
			r.errs = append(r.errs, err)
		}
	} else if mode != ModeDev {
		r.errs = append(r.errs, errors.New("DATABASE_URL: required (a postgres:// URL) outside `webhookd dev`"))
	}
	if mode == ModeAPI && c.APIToken == "" && !c.AllowOpenAPI {
		r.errs = append(r.errs, errors.New("API_TOKEN: required for `webhookd api` (set API_OPEN=true to run without authentication)"))
	}
	return c, errors.Join(r.errs...)
}

// checkDatabaseURL accepts postgres URLs everywhere and sqlite files in dev.
func checkDatabaseURL(v string, mode Mode) error {
	if strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		// pgx's own parser accepts everything the driver will (multi-host
		// URLs too). Its error is not repeated: the value may hold a password.
		if _, err := pgx.ParseConfig(v); err != nil {
			return errors.New("DATABASE_URL: not a valid PostgreSQL URL (value not shown; it may contain a password)")
		}
		return nil
	}
	if strings.HasPrefix(v, "sqlite:") {
		if mode != ModeDev {
			return errors.New("DATABASE_URL: sqlite is only for `webhookd dev`; use PostgreSQL")
		}
		return nil
	}
	return errors.New("DATABASE_URL: must start with postgres:// (or sqlite: in dev)")
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) fail(key, v, why string) {
	r.errs = append(r.errs, fmt.Errorf("%s: invalid value %q: %s", key, v, why))
}

func (r *reader) hostPort(key, def string) string {
	v := r.str(key, def)
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		r.fail(key, v, "want host:port")
		return def
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		r.fail(key, v, "port must be 0-65535")
		return def
	}
	return v
}

func (r *reader) name(key, def string) string {
	v := r.str(key, def)
	for _, c := range v {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			r.fail(key, v, "use letters, digits, '-', '_' or '.'")
			return def
		}
	}
	return v
}

func (r *reader) boolean(key string, def bool) bool {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(key, v, "want true or false")
		return def
	}
	return b
}

func (r *reader) intRange(key string, def, lo, hi int) int {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(key, v, fmt.Sprintf("want an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// DefaultWorkflowCacheSize is WORKFLOW_CACHE_SIZE's default. The SDK's
// own, 10,000, costs about 48 KB per open workflow, and a delivery waiting
// minutes for its next retry gains nothing from staying cached: its few
// history events replay in microseconds when it wakes.
const DefaultWorkflowCacheSize = 1000

// workflowCacheSize reads WORKFLOW_CACHE_SIZE: at least the worker's
// concurrency, since each workflow task in flight holds its workflow in the
// cache (a full cache would refuse the next).
func (r *reader) workflowCacheSize(concurrency int) int {
	def := max(DefaultWorkflowCacheSize, concurrency)
	n := r.intRange("WORKFLOW_CACHE_SIZE", def, 1, 1_000_000)
	if n < concurrency {
		r.fail("WORKFLOW_CACHE_SIZE", strconv.Itoa(n), fmt.Sprintf("at least WORKER_CONCURRENCY (%d)", concurrency))
		return def
	}
	return n
}

// tokenKeys reads the tenant-token signing key and the previous one. Values
// are never echoed: they are secrets.
func (r *reader) tokenKeys() []string {
	var keys []string
	for _, name := range []string{"TENANT_TOKEN_KEY", "TENANT_TOKEN_KEY_PREVIOUS"} {
		v := r.str(name, "")
		switch {
		case v == "":
			continue
		case len(v) < MinTenantTokenKey:
			r.errs = append(r.errs, fmt.Errorf("%s: must be at least %d characters (value not shown), e.g. the output of `openssl rand -base64 32`", name, MinTenantTokenKey))
		case name == "TENANT_TOKEN_KEY_PREVIOUS" && len(keys) == 0:
			r.errs = append(r.errs, errors.New("TENANT_TOKEN_KEY_PREVIOUS: set only together with TENANT_TOKEN_KEY (the new key)"))
		default:
			keys = append(keys, v)
		}
	}
	return keys
}

// oneOf reads a value that must be one of choices; unset takes the first.
func (r *reader) oneOf(key string, choices ...string) string {
	v := strings.ToLower(r.str(key, choices[0]))
	if !slices.Contains(choices, v) {
		r.fail(key, v, "want "+strings.Join(choices, " or "))
		return choices[0]
	}
	return v
}

func (r *reader) level(key string, def slog.Level) slog.Level {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(key, v, "want debug, info, warn or error")
		return def
	}
	return l
}
