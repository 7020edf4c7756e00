package config

import (
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(ModeDev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "127.0.0.1:7233" || c.TemporalUIAddr != "127.0.0.1:8233" || c.HTTPAddr != "127.0.0.1:8080" ||
		c.TemporalNamespace != "default" || c.TaskQueue != "webhooks" || c.DataDir != "./data" || c.RetentionDays != 7 ||
		c.LogLevel != slog.LevelInfo || !c.AllowPrivateEndpoints {
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
		"TEMPORAL_ADDRESS":        {"TEMPORAL_ADDRESS": "nohostport"},
		"HTTP_ADDR":               {"HTTP_ADDR": "127.0.0.1:99999"},
		"RETENTION_DAYS":          {"RETENTION_DAYS": "0"},
		"LOG_LEVEL":               {"LOG_LEVEL": "loud"},
		"ALLOW_PRIVATE_ENDPOINTS": {"ALLOW_PRIVATE_ENDPOINTS": "maybe"},
		"TEMPORAL_TASK_QUEUE":     {"TEMPORAL_TASK_QUEUE": "a queue"},
		"DATABASE_URL":            {"DATABASE_URL": "mysql://x"},
	}
	for name, vars := range cases {
		_, err := Load(ModeDev, env(vars))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: want an error naming it, got %v", name, err)
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
