package config

import (
	"log/slog"
	"os"
	"strings"
	"testing"
)

// testKeys is a valid ENCRYPTION_KEYS (a key of 32 zero bytes).
const testKeys = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// env serves m, with ENCRYPTION_KEYS set unless m names it.
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok || k != "ENCRYPTION_KEYS" {
			return v
		}
		return testKeys
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(ModeDev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "127.0.0.1:7233" || c.TemporalUIAddr != "127.0.0.1:8233" || c.HTTPAddr != "127.0.0.1:8080" ||
		c.TemporalNamespace != "default" || c.TaskQueue != "webhooks" || c.DataDir != "./data" || c.RetentionDays != 7 ||
		c.LogLevel != slog.LevelInfo || c.LogFormat != "text" || !c.AllowPrivateEndpoints || c.TenantMaxWebhooks != 1000 || c.TenantEventsPerSecond != 1000 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	c, err = Load(ModeWorker, env(map[string]string{"DATABASE_URL": "postgres://x@h/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AllowPrivateEndpoints {
		t.Fatal("private endpoints must be refused by default outside dev")
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"TEMPORAL_ADDRESS":            {"TEMPORAL_ADDRESS": "nohostport"},
		"HTTP_ADDR":                   {"HTTP_ADDR": "127.0.0.1:99999"},
		"RETENTION_DAYS":              {"RETENTION_DAYS": "0"},
		"LOG_LEVEL":                   {"LOG_LEVEL": "loud"},
		"LOG_FORMAT":                  {"LOG_FORMAT": "xml"},
		"OTEL_TRACES_EXPORTER":        {"OTEL_TRACES_EXPORTER": "zipkin"},
		"OTEL_EXPORTER_OTLP_PROTOCOL": {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		"ALLOW_PRIVATE_ENDPOINTS":     {"ALLOW_PRIVATE_ENDPOINTS": "maybe"},
		"TEMPORAL_TASK_QUEUE":         {"TEMPORAL_TASK_QUEUE": "a queue"},
		"DATABASE_URL":                {"DATABASE_URL": "mysql://x"},
		"TEMPORAL_UI_URL":             {"TEMPORAL_UI_URL": "temporal.example.com"},
		"CONSOLE_FRAME_ANCESTORS":     {"CONSOLE_FRAME_ANCESTORS": "https://app.example.com *"},
		"ALLOWED_HOSTS":               {"ALLOWED_HOSTS": "webhooks.example.com:8080"},
		"TENANT_MAX_WEBHOOKS":         {"TENANT_MAX_WEBHOOKS": "-1"},
		"TENANT_EVENTS_PER_SECOND":    {"TENANT_EVENTS_PER_SECOND": "lots"},
	}
	for name, vars := range cases {
		_, err := Load(ModeDev, env(vars))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: want an error naming it, got %v", name, err)
		}
	}
}

// TestTracingFollowsOTELVariables: traces are off unless an OTLP endpoint
// or exporter is named, and OTEL_SDK_DISABLED wins.
func TestTracingFollowsOTELVariables(t *testing.T) {
	cases := []struct {
		vars map[string]string
		want Tracing
	}{
		{map[string]string{}, Tracing{Protocol: "http/protobuf"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, Tracing{Enabled: true, Protocol: "http/protobuf"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, Tracing{Enabled: true, Protocol: "grpc"}},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, Tracing{Enabled: true, Protocol: "http/protobuf"}},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, Tracing{Protocol: "http/protobuf"}},
		{map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, Tracing{Protocol: "http/protobuf"}},
	}
	for _, c := range cases {
		got, err := Load(ModeDev, env(c.vars))
		if err != nil || got.Tracing != c.want {
			t.Errorf("%v: tracing %+v (%v), want %+v", c.vars, got.Tracing, err, c.want)
		}
	}
}

func TestAPIRequiresTokenUnlessOpen(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@h/db"}
	if _, err := Load(ModeAPI, env(base)); err == nil || !strings.Contains(err.Error(), "API_TOKEN") {
		t.Fatalf("want API_TOKEN error, got %v", err)
	}
	base["API_OPEN"] = "true"
	if _, err := Load(ModeAPI, env(base)); err != nil {
		t.Fatalf("API_OPEN=true should allow running open: %v", err)
	}
}

func TestSQLiteOnlyInDev(t *testing.T) {
	vars := map[string]string{"DATABASE_URL": "sqlite:./data/x.db"}
	if _, err := Load(ModeDev, env(vars)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ModeWorker, env(vars)); err == nil {
		t.Fatal("sqlite must be refused outside dev")
	}
	if _, err := Load(ModeWorker, env(nil)); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("worker without DATABASE_URL: %v", err)
	}
}

func TestDatabaseURLErrorsHideThePassword(t *testing.T) {
	_, err := Load(ModeWorker, env(map[string]string{"DATABASE_URL": "postgres://u:hunter2@h:54x/db"}))
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v", err)
	}
	if _, err := Load(ModeWorker, env(map[string]string{"DATABASE_URL": "postgres://u:p@h1:5432,h2:5432/db"})); err != nil {
		t.Fatalf("multi-host URL refused: %v", err)
	}
}

func TestTenantTokenKeys(t *testing.T) {
	long, older := strings.Repeat("k", 32), strings.Repeat("o", 40)
	c, err := Load(ModeDev, env(map[string]string{"TENANT_TOKEN_KEY": long, "TENANT_TOKEN_KEY_PREVIOUS": older}))
	if err != nil || len(c.TenantTokenKeys) != 2 || c.TenantTokenKeys[0] != long || c.TenantTokenKeys[1] != older {
		t.Fatalf("keys = %v, %v", c.TenantTokenKeys, err)
	}
	for _, vars := range []map[string]string{
		{"TENANT_TOKEN_KEY": "short-secret"},
		{"TENANT_TOKEN_KEY_PREVIOUS": older},
	} {
		_, err := Load(ModeDev, env(vars))
		if err == nil || !strings.Contains(err.Error(), "TENANT_TOKEN_KEY") || strings.Contains(err.Error(), "short-secret") ||
			strings.Contains(err.Error(), older) {
			t.Errorf("%v: error %v, want one naming the variable without its value", vars, err)
		}
	}
	if c, _ := Load(ModeDev, env(nil)); len(c.TenantTokenKeys) != 0 {
		t.Fatal("no key configured must mean none (dev generates one itself)")
	}
}

func TestTemporalConnection(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@h/db"}
	c, err := Load(ModeWorker, env(base))
	if err != nil || c.Temporal.TLS != nil || c.Temporal.APIKey != "" {
		t.Fatalf("plain by default: %+v %v", c.Temporal, err)
	}
	cloud := map[string]string{"DATABASE_URL": "postgres://x@h/db", "TEMPORAL_API_KEY": "key-123", "TEMPORAL_TLS_SERVER_NAME": "ns.tmprl.cloud"}
	c, err = Load(ModeWorker, env(cloud))
	if err != nil || c.Temporal.TLS == nil || c.Temporal.TLS.ServerName != "ns.tmprl.cloud" || c.Temporal.APIKey != "key-123" {
		t.Fatalf("API key turns TLS on: %+v %v", c.Temporal, err)
	}
	dir := t.TempDir()
	notPEM := dir + "/ca.pem"
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, vars := range map[string]map[string]string{
		"TEMPORAL_TLS_CA":   {"TEMPORAL_TLS_CA": notPEM},
		"TEMPORAL_TLS_CERT": {"TEMPORAL_TLS_CERT": dir + "/client.pem"},
		"TEMPORAL_TLS_KEY":  {"TEMPORAL_TLS_CERT": dir + "/missing.pem", "TEMPORAL_TLS_KEY": dir + "/missing.key"},
	} {
		vars["DATABASE_URL"] = "postgres://x@h/db"
		if _, err := Load(ModeWorker, env(vars)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: want an error naming it, got %v", name, err)
		}
	}
	if _, err := Load(ModeDev, env(map[string]string{"TEMPORAL_TLS": "true"})); err == nil {
		t.Error("TLS settings must be refused in dev, which runs its own server")
	}
}

func TestEncryptionKeys(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@h/db", "ENCRYPTION_KEYS": ""}
	if _, err := Load(ModeWorker, env(base)); err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEYS") {
		t.Fatalf("worker without keys: %v", err)
	}
	if c, err := Load(ModeDev, env(map[string]string{"ENCRYPTION_KEYS": ""})); err != nil || c.Keyring != nil {
		t.Fatalf("dev without keys makes its own: %v", err)
	}
	base["ENCRYPTION_KEYS"] = "k1:c2VjcmV0LXRvby1zaG9ydA=="
	_, err := Load(ModeWorker, env(base))
	if err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEYS") || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("a short key: %v", err)
	}
	base["ENCRYPTION_KEYS"] = testKeys
	if c, err := Load(ModeWorker, env(base)); err != nil || c.Keyring == nil || c.Keyring.CurrentID() != "k1" {
		t.Fatalf("keys: %v", err)
	}
}

func TestConsoleSettings(t *testing.T) {
	c, err := Load(ModeDev, env(map[string]string{"TEMPORAL_UI_ADDR": "127.0.0.1:9233"}))
	if err != nil || c.TemporalUIURL != "http://127.0.0.1:9233" || c.ConsoleFrameAncestors != nil {
		t.Fatalf("dev: %q %v %v", c.TemporalUIURL, c.ConsoleFrameAncestors, err)
	}
	c, err = Load(ModeAPI, env(map[string]string{"DATABASE_URL": "postgres://x@h/db", "API_TOKEN": "t",
		"TEMPORAL_UI_URL": "https://temporal.example.com/", "CONSOLE_FRAME_ANCESTORS": "'self'  https://app.example.com"}))
	if err != nil || c.TemporalUIURL != "https://temporal.example.com" || strings.Join(c.ConsoleFrameAncestors, " ") != "'self' https://app.example.com" {
		t.Fatalf("api: %q %v %v", c.TemporalUIURL, c.ConsoleFrameAncestors, err)
	}
	c, _ = Load(ModeAPI, env(map[string]string{"DATABASE_URL": "postgres://x@h/db", "API_TOKEN": "t"}))
	if c.TemporalUIURL != "" {
		t.Fatalf("api without TEMPORAL_UI_URL links to %q", c.TemporalUIURL)
	}
	for _, bad := range []string{"https://a.example.com; script-src *", "https://a.example.com/path", "'unsafe-inline'", "javascript:x"} {
		if _, err := Load(ModeDev, env(map[string]string{"CONSOLE_FRAME_ANCESTORS": bad})); err == nil {
			t.Errorf("CONSOLE_FRAME_ANCESTORS=%q accepted", bad)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	c, err := Load(ModeDev, env(nil))
	if err != nil || len(c.AllowedHosts) != 0 || c.AllowAnyHost {
		t.Fatalf("default: %v %v %v (loopback names and addresses need no entry)", c.AllowedHosts, c.AllowAnyHost, err)
	}
	c, err = Load(ModeDev, env(map[string]string{"HTTP_ADDR": "Webhookd.internal:8080", "ALLOWED_HOSTS": "webhooks.example.com, .svc.cluster.local"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.AllowedHosts, " ") != "webhookd.internal webhooks.example.com .svc.cluster.local" || c.AllowAnyHost {
		t.Fatalf("names: %v %v", c.AllowedHosts, c.AllowAnyHost)
	}
	if c, err = Load(ModeDev, env(map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "ALLOWED_HOSTS": "*"})); err != nil || len(c.AllowedHosts) != 0 || !c.AllowAnyHost {
		t.Fatalf("*: %v %v %v", c.AllowedHosts, c.AllowAnyHost, err)
	}
}

// TestWorkflowCacheSize: the worker's sticky cache is bounded by default,
// grows with WORKER_CONCURRENCY, and a size below it is refused by name.
func TestWorkflowCacheSize(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want int
		err  bool
	}{
		{env: nil, want: DefaultWorkflowCacheSize},
		{env: map[string]string{"WORKFLOW_CACHE_SIZE": "300"}, want: 300},
		{env: map[string]string{"WORKER_CONCURRENCY": "5000"}, want: 5000},
		{env: map[string]string{"WORKFLOW_CACHE_SIZE": "100"}, err: true},
		{env: map[string]string{"WORKFLOW_CACHE_SIZE": "0"}, err: true},
	} {
		cfg, err := Load(ModeDev, env(c.env))
		if c.err {
			if err == nil || !strings.Contains(err.Error(), "WORKFLOW_CACHE_SIZE") {
				t.Errorf("%v: error %v, want one naming WORKFLOW_CACHE_SIZE", c.env, err)
			}
			continue
		}
		if err != nil || cfg.WorkflowCacheSize != c.want {
			t.Errorf("%v: cache %d (%v), want %d", c.env, cfg.WorkflowCacheSize, err, c.want)
		}
	}
}

// TestOutboxStarter: by default (auto) the workers start the deliveries,
// and the api too only when it runs a worker, so that every start is
// eager; api and worker keep one kind of starter; anything else is refused
// by name.
func TestOutboxStarter(t *testing.T) {
	for _, c := range []struct {
		starter, apiWorker string
		api, workers       bool
	}{
		{"", "", false, true},
		{"", "true", true, true},
		{"auto", "false", false, true},
		{"api", "", true, false},
		{"api", "true", true, false},
		{"worker", "", false, true},
		{"worker", "true", false, true},
	} {
		cfg, err := Load(ModeAPI, env(map[string]string{"DATABASE_URL": "postgres://x@h/db", "API_TOKEN": "t",
			"OUTBOX_STARTER": c.starter, "API_WORKER": c.apiWorker}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.APIStarts() != c.api || cfg.WorkersStart() != c.workers {
			t.Errorf("OUTBOX_STARTER=%q API_WORKER=%q: api starts %v, workers %v; want %v, %v",
				c.starter, c.apiWorker, cfg.APIStarts(), cfg.WorkersStart(), c.api, c.workers)
		}
	}
	if _, err := Load(ModeWorker, env(map[string]string{"DATABASE_URL": "postgres://x@h/db", "OUTBOX_STARTER": "both"})); err == nil ||
		!strings.Contains(err.Error(), "OUTBOX_STARTER") {
		t.Fatalf("OUTBOX_STARTER=both: %v, want an error naming it", err)
	}
}
