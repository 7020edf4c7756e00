// Package storetest gives tests a real, empty, migrated database: a fresh
// PostgreSQL database cloned from a migrated template, or a SQLite file.
// Every storage test runs against both through Each.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/internal/store"
)

// AdminURLEnv names the variable holding a superuser URL of the test
// PostgreSQL server; the default fits the project's machines and CI.
const AdminURLEnv = "TEST_DATABASE_URL"

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Backends are the engines Each runs a test against.
var Backends = []store.Dialect{store.Postgres, store.SQLite}

// Each runs fn once per backend as a subtest with its own empty database.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Backends {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated store of the given dialect, closed and
// dropped when the test ends.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	if d == store.SQLite {
		return open(t, SQLiteURL(t))
	}
	return open(t, PostgresURL(t))
}

// SQLiteURL returns a database URL for a new SQLite file in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "webhookd.db")
}

// PostgresURL creates an empty, migrated PostgreSQL database for this test
// and returns its URL; it is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	tmpl := templateDB(t, admin)
	name := "webhookd_test_" + randomSuffix(t)
	Exec(t, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmpl}.Sanitize()))
	t.Cleanup(func() {
		Exec(t, admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize()))
	})
	return withDatabase(t, admin, name)
}

// AdminURL is the superuser URL tests create databases through.
func AdminURL(t testing.TB) string {
	if v := lookupEnv(AdminURLEnv); v != "" {
		return v
	}
	return defaultAdminURL
}

func open(t testing.TB, databaseURL string) *store.Store {
	t.Helper()
	return OpenURL(t, databaseURL, slog.New(slog.DiscardHandler))
}

// OpenURL opens and migrates the database at databaseURL (from PostgresURL
// or SQLiteURL), logging to log, and closes it when the test ends.
func OpenURL(t testing.TB, databaseURL string, log *slog.Logger) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, databaseURL, log)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	s.UseKeyring(Keyring(t))
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate: %v", err)
	}
	return s
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// templateDB migrates one template database per schema version and reuses it
// across tests and test processes: cloning it is much faster than migrating.
func templateDB(t testing.TB, admin string) string {
	t.Helper()
	templateOnce.Do(func() {
		templateName, templateErr = ensureTemplate(admin)
	})
	if templateErr != nil {
		t.Fatalf("storetest: template database: %v", templateErr)
	}
	return templateName
}

func ensureTemplate(admin string) (string, error) {
	ctx := context.Background()
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "webhookd_tmpl_" + hash
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w (is PostgreSQL running?)", redact(admin), err)
	}
	defer conn.Close(ctx)
	// Serialise template creation between concurrent test processes.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// A half-built template from a crashed run is not marked datistemplate.
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize())); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", pgx.Identifier{name}.Sanitize())); err != nil {
		return "", err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	s, err := store.Open(ctx, u.String(), slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	_, err = s.Migrate(ctx)
	_ = s.Close()
	if err != nil {
		return "", err
	}
	_, err = conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s WITH is_template true", pgx.Identifier{name}.Sanitize()))
	return name, err
}

// migrationsHash names the template after the migration files, so a schema
// change gets a new template instead of a stale one.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(store.Migrations(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

// Exec runs one statement on the admin connection (CREATE/DROP DATABASE).
func Exec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("storetest: connect %s: %v (is PostgreSQL running?)", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("storetest: %s: %v", sql, err)
	}
}

func withDatabase(t testing.TB, admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("storetest: %s: %v", AdminURLEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// OpenPostgres is Open for PostgreSQL that also returns the database URL, for
// tests that look at the rows directly (Dump).
func OpenPostgres(t testing.TB) (*store.Store, string) {
	t.Helper()
	u := PostgresURL(t)
	return open(t, u), u
}

// Inspector reads and clears webhookd's tables directly, over one
// connection, for tests that compare the rows before and after a call.
type Inspector struct {
	t    testing.TB
	conn *pgx.Conn
}

// Inspect connects to a PostgreSQL test database.
func Inspect(t testing.TB, databaseURL string) *Inspector {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("storetest: inspect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &Inspector{t: t, conn: conn}
}

// Dump returns every row of webhookd's tables as JSON, in primary-key order:
// two equal dumps mean nothing was written in between.
func (in *Inspector) Dump() string {
	in.t.Helper()
	var out string
	err := in.conn.QueryRow(context.Background(), `SELECT json_build_object(
		'webhooks',   (SELECT coalesce(json_agg(w ORDER BY w.id), '[]') FROM webhooks w),
		'events',     (SELECT coalesce(json_agg(e ORDER BY e.tenant_id, e.id), '[]') FROM events e),
		'deliveries', (SELECT coalesce(json_agg(d ORDER BY d.id), '[]') FROM deliveries d),
		'attempts',   (SELECT coalesce(json_agg(a ORDER BY a.id), '[]') FROM attempts a),
		'eventTypes', (SELECT coalesce(json_agg(t ORDER BY t.id), '[]') FROM event_types t))::text`).Scan(&out)
	if err != nil {
		in.t.Fatalf("storetest: dump: %v", err)
	}
	return out
}

// Clear deletes every row (DELETE, not TRUNCATE: far cheaper on the few rows
// a test writes).
func (in *Inspector) Clear() {
	in.t.Helper()
	_, err := in.conn.Exec(context.Background(), "DELETE FROM attempts; DELETE FROM deliveries; DELETE FROM events; DELETE FROM webhooks; DELETE FROM event_types")
	if err != nil {
		in.t.Fatalf("storetest: clear: %v", err)
	}
}

// EmptyPostgresURL creates a PostgreSQL database with no schema at all (for
// migration tests) and returns its URL; it is dropped when the test ends.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	name := "webhookd_empty_" + randomSuffix(t)
	Exec(t, admin, fmt.Sprintf("CREATE DATABASE %s", pgx.Identifier{name}.Sanitize()))
	t.Cleanup(func() {
		Exec(t, admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize()))
	})
	return withDatabase(t, admin, name)
}

// Exec runs a statement directly, for tests that build large tables fast.
func (in *Inspector) Exec(sql string) {
	in.t.Helper()
	if _, err := in.conn.Exec(context.Background(), sql); err != nil {
		in.t.Fatalf("storetest: %s: %v", sql, err)
	}
}

var (
	keyringOnce sync.Once
	keyring     *secrets.Keyring
	keyringErr  error
)

// Keyring is the key every test store encrypts secrets with, as production
// stores do.
func Keyring(t testing.TB) *secrets.Keyring {
	keyringOnce.Do(func() {
		spec, err := secrets.GenerateSpec("test")
		if err == nil {
			keyring, err = secrets.ParseKeyring(spec)
		}
		keyringErr = err
	})
	if keyringErr != nil {
		t.Fatalf("storetest: keyring: %v", keyringErr)
	}
	return keyring
}
