package keyfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.key")
	calls := 0
	gen := func() (string, error) { calls++; return "secret-value", nil }
	v, created, err := LoadOrCreate(path, gen)
	if err != nil || !created || v != "secret-value" {
		t.Fatalf("first: %q %v %v", v, created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v, want 0600", st.Mode(), err)
	}
	v2, created, err := LoadOrCreate(path, gen)
	if err != nil || created || v2 != v || calls != 1 {
		t.Fatalf("second: %q %v %v (generated %d times)", v2, created, err, calls)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path, gen); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("a readable key file was left %v", st.Mode())
	}
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path, gen); err == nil {
		t.Fatal("an empty key file must be an error, not a silently new key")
	}
}
