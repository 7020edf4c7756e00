package config

import (
	"slices"
	"strconv"
	"strings"
)

// Var is one environment variable Load reads: which commands use it and
// what for. Each command's --help lists its variables from this table.
type Var struct {
	Name  string
	Modes []Mode
	Help  string
	// Required lists the commands that refuse to start without it.
	Required []Mode
	// Default and DevDefault describe the value used when the variable is
	// unset (DevDefault in dev), where that is not a plain value Load
	// computes (value).
	Default, DevDefault string
	// value shows the setting Load made; with nothing set, that is the
	// default the help shows.
	value func(Config) string
}

var (
	everyMode = []Mode{ModeDev, ModeAPI, ModeWorker, ModeMigrate}
	// serving are the commands that deliver or take events.
	serving = []Mode{ModeDev, ModeAPI, ModeWorker}
	// remote are the commands that connect to a Temporal cluster of their own.
	remote = []Mode{ModeAPI, ModeWorker, ModeMigrate}
	// front are the commands that serve the API and the console.
	front = []Mode{ModeDev, ModeAPI}
)

// Variables is every environment variable webhookd reads.
var Variables = []Var{
	{Name: "DATABASE_URL", Modes: everyMode, Required: remote, DevDefault: "SQLite under DATA_DIR",
		Help: "postgres://user:pass@host:5432/db (dev also takes sqlite:<file>)"},
	{Name: "ENCRYPTION_KEYS", Modes: everyMode, Required: remote, DevDefault: "generated under DATA_DIR",
		Help: "keyID:base64key[,...], current first: encrypts webhook secrets (webhookd keygen)"},
	{Name: "TEMPORAL_ADDRESS", Modes: everyMode, Help: "Temporal frontend host:port (dev: where its embedded server listens)",
		value: func(c Config) string { return c.TemporalAddress }},
	{Name: "TEMPORAL_NAMESPACE", Modes: everyMode, Help: "Temporal namespace (outside dev it must exist)",
		value: func(c Config) string { return c.TemporalNamespace }},
	{Name: "TEMPORAL_TASK_QUEUE", Modes: everyMode, Help: "task queue of this deployment (its workers and schedules)",
		value: func(c Config) string { return c.TaskQueue }},
	{Name: "TEMPORAL_TLS", Modes: remote, Help: "connect over TLS (implied by TEMPORAL_TLS_* and TEMPORAL_API_KEY)",
		value: func(c Config) string { return strconv.FormatBool(c.Temporal.TLS != nil) }},
	{Name: "TEMPORAL_TLS_CA", Modes: remote, Help: "PEM file of the CA of the Temporal frontend's certificate"},
	{Name: "TEMPORAL_TLS_CERT", Modes: remote, Help: "client certificate PEM file (mTLS), with TEMPORAL_TLS_KEY"},
	{Name: "TEMPORAL_TLS_KEY", Modes: remote, Help: "client key PEM file (mTLS), with TEMPORAL_TLS_CERT"},
	{Name: "TEMPORAL_TLS_SERVER_NAME", Modes: remote, Help: "name the frontend's certificate must carry", Default: "the host of TEMPORAL_ADDRESS"},
	{Name: "TEMPORAL_API_KEY", Modes: remote, Help: "Temporal Cloud API key (sent over TLS)"},
	{Name: "TEMPORAL_UI_ADDR", Modes: []Mode{ModeDev}, Help: "where the embedded Temporal Web UI listens",
		value: func(c Config) string { return c.TemporalUIAddr }},
	{Name: "TEMPORAL_UI_URL", Modes: front, Help: "Temporal Web UI as browsers reach it, for the console's links",
		value: func(c Config) string { return c.TemporalUIURL }, Default: "none: no links"},
	{Name: "DATA_DIR", Modes: []Mode{ModeDev}, Help: "where dev keeps Temporal's and webhookd's files",
		value: func(c Config) string { return c.DataDir }},
	{Name: "HTTP_ADDR", Modes: front, Help: "where the API, console, /healthz, /readyz and /metrics listen",
		value: func(c Config) string { return c.HTTPAddr }},
	{Name: "METRICS_ADDR", Modes: []Mode{ModeWorker}, Help: "where the worker serves /metrics, /healthz and /readyz",
		value: func(c Config) string { return c.MetricsAddr }},
	{Name: "API_TOKEN", Modes: front, Required: []Mode{ModeAPI}, DevDefault: "none: requests without one act as the admin",
		Help: "admin bearer token for /api/v1 and the console (api: or API_OPEN=true)"},
	{Name: "API_OPEN", Modes: []Mode{ModeAPI}, Help: "run the API without API_TOKEN, deliberately",
		value: func(c Config) string { return strconv.FormatBool(c.AllowOpenAPI) }},
	{Name: "API_WORKER", Modes: []Mode{ModeAPI}, Help: "also run a worker: workflows start in this process (eager start)",
		value: func(c Config) string { return strconv.FormatBool(c.APIWorker) }},
	{Name: "OUTBOX_STARTER", Modes: []Mode{ModeAPI, ModeWorker}, Help: "auto, api or worker: the processes that start delivery workflows (auto: the workers, and the api too when it runs a worker, so that every start is eager)",
		value: func(c Config) string { return c.OutboxStarter }},
	{Name: "START_WINDOW", Modes: serving, Help: "deliveries started but not yet attempted (limit waiters aside), across the starting processes: the most (the adaptive window keeps fewer while Temporal's start calls are slow or the load needs fewer)",
		value: func(c Config) string { return strconv.Itoa(c.StartWindow) }},
	{Name: "START_WINDOW_MIN", Modes: serving, Help: "where the adaptive start window begins, and the fewest it shrinks to (START_WINDOW if smaller; equal to it: no adapting)",
		value: func(c Config) string { return strconv.Itoa(c.StartWindowMin) }},
	{Name: "WORKER_CONCURRENCY", Modes: serving, Help: "concurrent deliveries per worker process",
		value: func(c Config) string { return strconv.Itoa(c.WorkerConcurrency) }},
	{Name: "WORKFLOW_CACHE_SIZE", Modes: serving, Help: "workflows a worker process keeps in memory between steps (at least WORKER_CONCURRENCY)",
		value: func(c Config) string { return strconv.Itoa(c.WorkflowCacheSize) }},
	{Name: "RETENTION_DAYS", Modes: serving, Help: "delivery logs older than this many days are removed",
		value: func(c Config) string { return strconv.Itoa(c.RetentionDays) }},
	{Name: "ALLOW_PRIVATE_ENDPOINTS", Modes: serving, Help: "allow endpoints on loopback, private and link-local addresses",
		value: func(c Config) string { return strconv.FormatBool(c.AllowPrivateEndpoints) }},
	{Name: "EGRESS_PROXY", Modes: serving, Help: "http://[user:pass@]host:port: deliver through this HTTP proxy"},
	{Name: "TENANT_TOKEN_KEY", Modes: front, Default: "none: tenant tokens off", DevDefault: "generated under DATA_DIR",
		Help: "signs tenant tokens, 32+ characters (webhookd keygen --tenant-token-key)"},
	{Name: "TENANT_TOKEN_KEY_PREVIOUS", Modes: front, Help: "the key before a rotation: its tokens verify until they expire"},
	{Name: "CONSOLE_FRAME_ANCESTORS", Modes: front, Help: "origins (or 'self') that may show the console in a frame"},
	{Name: "ALLOWED_HOSTS", Modes: front, Default: "none: loopback names, IP addresses and HTTP_ADDR's host",
		Help: "more Host names the API and console answer to (others: 421); .example.com for subdomains, * for any"},
	{Name: "TENANT_MAX_WEBHOOKS", Modes: front, Help: "live webhooks per tenant, across replicas (0: no quota)",
		value: func(c Config) string { return strconv.Itoa(c.TenantMaxWebhooks) }},
	{Name: "TENANT_EVENTS_PER_SECOND", Modes: front, Help: "events per second per tenant, across replicas (0: no quota)",
		value: func(c Config) string { return strconv.Itoa(c.TenantEventsPerSecond) }},
	{Name: "TENANT_MAX_EVENT_TYPES", Modes: front, Help: "live event types per tenant, across replicas (0: no quota)",
		value: func(c Config) string { return strconv.Itoa(c.TenantMaxEventTypes) }},
	{Name: "LOG_LEVEL", Modes: everyMode, Help: "debug, info, warn or error",
		value: func(c Config) string { return strings.ToLower(c.LogLevel.String()) }},
	{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Modes: serving, Default: "none: traces off",
		Help: "OTLP collector (http://host:4318, or :4317 with grpc): turns traces on; the SDK reads the other OTEL_* variables"},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Modes: serving, Help: "OTLP traces URL, instead of OTEL_EXPORTER_OTLP_ENDPOINT"},
	{Name: "OTEL_EXPORTER_OTLP_PROTOCOL", Modes: serving, Help: "http/protobuf or grpc",
		value: func(c Config) string { return c.Tracing.Protocol }},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Modes: serving, Help: "the same, for traces only"},
	{Name: "OTEL_TRACES_EXPORTER", Modes: serving, Help: "otlp (on, with the SDK's default endpoint) or none (off)"},
	{Name: "OTEL_SDK_DISABLED", Modes: serving, Help: "true turns traces off whatever else is set"},
	{Name: "LOG_FORMAT", Modes: everyMode, Help: "text (key=value lines) or json (one object per line)",
		value: func(c Config) string { return c.LogFormat }},
}

// Vars lists the name of every environment variable Load reads.
var Vars = func() []string {
	names := make([]string, len(Variables))
	for i, v := range Variables {
		names[i] = v.Name
	}
	return names
}()

// VarHelp is one line of a command's help: a variable, what it does, and
// its default for that command.
type VarHelp struct{ Name, Help, Default string }

// HelpFor lists the variables mode reads, with the defaults Load applies
// to it when they are unset.
func HelpFor(mode Mode) []VarHelp {
	defaults, _ := Load(mode, func(string) string { return "" }) // errors: required variables, listed anyway
	var out []VarHelp
	for _, v := range Variables {
		if !v.usedBy(mode) {
			continue
		}
		h := VarHelp{Name: v.Name, Help: v.Help, Default: v.Default}
		switch {
		case slices.Contains(v.Required, mode):
			h.Default = "required"
		case mode == ModeDev && v.DevDefault != "":
			h.Default = v.DevDefault
		case v.value != nil && v.value(defaults) != "":
			h.Default = v.value(defaults)
		}
		out = append(out, h)
	}
	return out
}

func (v Var) usedBy(mode Mode) bool { return slices.Contains(v.Modes, mode) }
