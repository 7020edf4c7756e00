// Package store keeps webhookd's state in PostgreSQL (production) or SQLite
// (`webhookd dev` without DATABASE_URL) through GORM. Every query here runs on
// both; the same test suite proves it.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "github.com/ncruces/go-sqlite3/embed" // the SQLite build for dev mode
	"github.com/ncruces/go-sqlite3/gormlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/webhookd/webhookd/internal/secrets"
)

// slowQuery is the duration above which a statement is logged.
const slowQuery = 500 * time.Millisecond

// Errors the store returns; callers match them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrStale means the row changed since it was read (optimistic locking).
	ErrStale = errors.New("changed since it was read")
)

// Dialect names the database engine behind a Store.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is the only way webhookd reads or writes its tables.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	// keyring encrypts webhook secrets at rest (secrets.go).
	keyring *secrets.Keyring
	// sqliteMigrationDSN opens SQLite for goose with the driver's default time
	// format: goose's own timestamps do not parse as integer microseconds.
	sqliteMigrationDSN string
	// sequenceWaker is told when a sequence may move on (sequence.go).
	sequenceWaker func()
	// waiterPatience is how long a concurrency waiter waits before older
	// waiters are served first (limits.go); tests set it to 0.
	waiterPatience time.Duration
	// listenURL is the PostgreSQL URL ListenOutbox opens its own
	// connection with (notify.go); empty on SQLite. listenPing replaces
	// listenPingEvery in tests.
	listenURL  string
	listenPing time.Duration
	// log is for what a caller cannot see in a returned error: a migrate
	// waiting for another's migration lock (migrate.go).
	log *slog.Logger
}

// Open connects to databaseURL: postgres://... or sqlite:<file path>.
// It does not migrate; call Migrate or RequireCurrentSchema.
//
// Statements slower than slowQuery are logged at WARN (without values).
func Open(ctx context.Context, databaseURL string, log *slog.Logger) (*Store, error) {
	cfg := &gorm.Config{
		TranslateError: true,
		// Microsecond UTC times compare equal after a round trip through
		// either database, which keyset cursors rely on.
		NowFunc: Now,
		// Silent while opening: GORM logs a failed connection itself, as a
		// raw "failed to initialize database, got error %v" line, before
		// returning the error that start-up then reports.
		Logger: logger.Discard,
	}
	var (
		dialector    gorm.Dialector
		dialect      Dialect
		migrationDSN string
		listenURL    string
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		dialector, dialect, listenURL = postgres.Open(databaseURL), Postgres, databaseURL
	case strings.HasPrefix(databaseURL, "sqlite:"):
		dsn, err := sqliteDSN(strings.TrimPrefix(databaseURL, "sqlite:"), true)
		if err != nil {
			return nil, err
		}
		if migrationDSN, err = sqliteDSN(strings.TrimPrefix(databaseURL, "sqlite:"), false); err != nil {
			return nil, err
		}
		dialector, dialect = gormlite.Open(dsn), SQLite
	default:
		return nil, errors.New("store: database URL must start with postgres:// or sqlite:")
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	db.Logger = quietTrace{slow: slowQuery, Interface: logger.NewSlogLogger(log.With("component", "db"), logger.Config{
		SlowThreshold:             slowQuery,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true, // never log values: they may hold secrets
	})}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == Postgres {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		// SQLite has one writer; a few connections let reads overlap it.
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: connect %s: %w", dialect, err)
	}
	return &Store{db: db, dialect: dialect, sqliteMigrationDSN: migrationDSN, waiterPatience: DefaultWaiterPatience,
		listenURL: listenURL, log: log.With("component", "store")}, nil
}

// sqliteDSN turns a file path into the driver's DSN with the pragmas that make
// concurrent API and worker writes safe: WAL, a busy timeout, immediate write
// transactions, foreign keys, and integer microsecond times so that text
// formatting never breaks time ordering.
func sqliteDSN(path string, microTimes bool) (string, error) {
	if path == "" {
		return "", errors.New("store: sqlite: needs a file path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("store: sqlite dir: %w", err)
	}
	q := url.Values{}
	if microTimes {
		q.Set("_timefmt", "unixepoch_micro")
	}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(normal)")
	q.Add("_pragma", "foreign_keys(on)")
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode(), nil
}

// Now is the store's clock: UTC, truncated to what PostgreSQL keeps.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Dialect reports which engine this store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// translate maps driver errors to the store's own.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// validID reports whether id can be a webhook or delivery id. PostgreSQL
// stores them as uuid and would reject anything else with an error; a
// malformed id simply names nothing.
func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil
}
