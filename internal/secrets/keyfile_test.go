package secrets

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestGenerateSpec(t *testing.T) {
	spec, err := GenerateSpec("k3")
	if err != nil {
		t.Fatal(err)
	}
	k := mustParse(t, spec)
	if got := k.CurrentID(); got != "k3" {
		t.Errorf("CurrentID() = %q, want k3", got)
	}
	other, err := GenerateSpec("k3")
	if err != nil {
		t.Fatal(err)
	}
	if other == spec {
		t.Error("GenerateSpec returned the same key twice")
	}
	// A generated spec goes in front of an existing one to rotate.
	if _, err := ParseKeyring(spec + "," + testEntry("k2")); err != nil {
		t.Errorf("generated spec does not combine with another: %v", err)
	}
	for _, bad := range []string{"", "has space", "k:1", strings.Repeat("k", 33)} {
		if _, err := GenerateSpec(bad); err == nil {
			t.Errorf("GenerateSpec(%q) accepted a bad id", bad)
		}
	}
}

func TestLoadOrCreateKeyFileCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "webhookd")
	path := filepath.Join(dir, "secrets.key")

	spec, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("created = false for a new file")
	}
	k := mustParse(t, spec)
	if !regexp.MustCompile(`^dev[0-9]{8}$`).MatchString(k.CurrentID()) {
		t.Errorf("generated key id %q is not dev and a date", k.CurrentID())
	}
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(data)) != spec {
		t.Errorf("file holds %q, returned spec %q", data, spec)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (temporary file left behind?)", len(entries))
	}

	again, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if created || again != spec {
		t.Errorf("second call: spec changed %v, created %v; want the same spec, not created", again != spec, created)
	}
}

func TestLoadOrCreateKeyFileKeepsExistingParentMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(filepath.Join(dir, "secrets.key")); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o755)
}

func TestLoadOrCreateKeyFileNarrowsOpenMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	spec := testEntry("k1")
	if err := os.WriteFile(path, []byte("\n  "+spec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
	got, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if created || got != spec {
		t.Errorf("LoadOrCreateKeyFile = %q, created %v; want the file's spec, trimmed", got, created)
	}
	assertMode(t, path, 0o600)
}

func TestLoadOrCreateKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.key")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v, want an error saying it is empty", err)
	}
	if _, _, err := LoadOrCreateKeyFile(dir); err == nil {
		t.Error("a directory was accepted as a key file")
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(filepath.Join(blocker, "secrets.key")); err == nil {
		t.Error("a key file under a regular file was created")
	}
}

// Processes started together must agree on one key, or one of them would
// encrypt under a key that no longer exists on disk.
func TestLoadOrCreateKeyFileConcurrentCallersAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	const callers = 8
	specs := make([]string, callers)
	didCreate := make([]bool, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			spec, created, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			specs[i], didCreate[i] = spec, created
		})
	}
	wg.Wait()
	creators := 0
	for i := range callers {
		if specs[i] != specs[0] {
			t.Errorf("caller %d got a different spec from caller 0", i)
		}
		if didCreate[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers report creating the file, want 1", creators)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", filepath.Base(path), got, want)
	}
}
