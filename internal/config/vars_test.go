package config

import (
	"slices"
	"sort"
	"testing"
)

// TestVariablesAreWhatLoadReads: the table the commands' help is built from
// lists exactly the variables Load reads, each with a purpose and at least
// one command.
func TestVariablesAreWhatLoadReads(t *testing.T) {
	read := map[string]bool{}
	for _, mode := range []Mode{ModeDev, ModeAPI, ModeWorker, ModeMigrate} {
		_, _ = Load(mode, func(k string) string { read[k] = true; return "" })
	}
	for name := range read {
		if !slices.Contains(Vars, name) {
			t.Errorf("Load reads %s, which Variables does not list (so no --help shows it)", name)
		}
	}
	for _, v := range Variables {
		if !read[v.Name] {
			t.Errorf("Variables lists %s, which Load does not read", v.Name)
		}
		if v.Help == "" || len(v.Modes) == 0 {
			t.Errorf("%s: needs a help text and the commands that read it", v.Name)
		}
	}
	if names := slices.Clone(Vars); len(slices.Compact(sortStrings(names))) != len(Vars) {
		t.Errorf("a variable is listed twice: %v", Vars)
	}
}

// TestHelpForShowsLoadDefaults: the defaults the help shows are the ones
// Load applies, per command.
func TestHelpForShowsLoadDefaults(t *testing.T) {
	want := map[Mode]map[string]string{
		ModeDev:     {"ALLOW_PRIVATE_ENDPOINTS": "true", "HTTP_ADDR": "127.0.0.1:8080", "DATABASE_URL": "SQLite under DATA_DIR", "TEMPORAL_UI_URL": "http://127.0.0.1:8233", "START_WINDOW": "8"},
		ModeAPI:     {"ALLOW_PRIVATE_ENDPOINTS": "false", "API_TOKEN": "required", "DATABASE_URL": "required", "TEMPORAL_UI_URL": "none: no links", "START_WINDOW": "100", "OUTBOX_STARTER": "auto"},
		ModeWorker:  {"METRICS_ADDR": "127.0.0.1:9091", "RETENTION_DAYS": "7", "LOG_LEVEL": "info", "OUTBOX_STARTER": "auto", "START_WINDOW": "100"},
		ModeMigrate: {"ENCRYPTION_KEYS": "required", "TEMPORAL_TASK_QUEUE": "webhooks"},
	}
	for mode, defaults := range want {
		got := map[string]string{}
		for _, h := range HelpFor(mode) {
			got[h.Name] = h.Default
		}
		for name, d := range defaults {
			if got[name] != d {
				t.Errorf("%s --help: %s default %q, want %q", mode, name, got[name], d)
			}
		}
	}
	for _, h := range HelpFor(ModeMigrate) {
		if h.Name == "HTTP_ADDR" || h.Name == "DATA_DIR" {
			t.Errorf("migrate --help lists %s, which migrate does not use", h.Name)
		}
	}
}

func sortStrings(s []string) []string { sort.Strings(s); return s }
