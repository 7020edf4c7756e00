package devserver

import (
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"

	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// TestDatabaseFileIsInWALMode: the Temporal file is written in WAL mode,
// both when it is created and when a file left in rollback-journal mode by
// an earlier release is opened again; and every attribute the plugin turns
// into a PRAGMA names one SQLite knows. SQLite ignores a pragma it does not
// know, so a misspelt attribute fails here and nowhere else (it costs an
// fsync per commit, not an error). The plugin keeps its connections open
// for the life of the test binary; the files are removed all the same on
// Linux.
func TestDatabaseFileIsInWALMode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.db")
	opts := Options{DatabaseFile: file, Namespace: "default", Logger: slog.New(slog.DiscardHandler)}
	conf, err := prepareSQLite(opts)
	if err != nil {
		t.Fatal(err)
	}
	for name := range conf.ConnectAttributes {
		if name == "mode" { // a URI parameter, not a pragma
			continue
		}
		if n := pragmaListed(t, file, name); n != 1 {
			t.Errorf("attribute %q is not a pragma SQLite knows", name)
		}
	}
	if got := pragma(t, file, "journal_mode"); got != "wal" {
		t.Fatalf("a new file's journal_mode is %q, want wal", got)
	}

	// A file as an earlier release left it: its schema written by the
	// plugin with the misspelt attributes, so in rollback-journal mode.
	old := filepath.Join(t.TempDir(), "temporal.db")
	if err := sqliteschema.SetupSchema(&config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: old,
		ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal", "_synchronous": "normal"}}); err != nil {
		t.Fatal(err)
	}
	if got := pragma(t, old, "journal_mode"); got != "delete" {
		t.Fatalf("the earlier release's file has journal_mode %q, want delete", got)
	}
	opts.DatabaseFile = old
	if _, err := prepareSQLite(opts); err != nil {
		t.Fatal(err)
	}
	if got := pragma(t, old, "journal_mode"); got != "wal" {
		t.Fatalf("a reopened file's journal_mode is %q, want wal", got)
	}
}

// pragma reads a pragma of file (journal mode is kept in the file).
func pragma(t *testing.T, file, name string) string {
	t.Helper()
	var v string
	queryFile(t, file, &v, "PRAGMA "+name)
	return v
}

// pragmaListed counts the pragmas named name that SQLite knows.
func pragmaListed(t *testing.T, file, name string) int {
	t.Helper()
	var n int
	queryFile(t, file, &n, "SELECT count(*) FROM pragma_pragma_list WHERE name = ?", name)
	return n
}

// queryFile scans one value of query from file, through a connection of
// its own that sets nothing.
func queryFile(t *testing.T, file string, dest any, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(query, args...).Scan(dest); err != nil {
		t.Fatal(err)
	}
}
