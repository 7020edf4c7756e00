package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// ErrSchemaBehind is returned by RequireCurrentSchema when migrations are
// pending: `webhookd migrate` must run first.
var ErrSchemaBehind = errors.New("database schema is behind: run `webhookd migrate`")

// Two `webhookd migrate` runs at once (two replicas' init containers, a
// Helm hook beside a job) take turns on PostgreSQL: each holds goose's
// lock row (table goose_lock) while it migrates, and the other asks for it
// every migrationLockPoll, for up to migrationLockWait polls, then finds
// nothing left to do. A row, not a session advisory lock: a transaction-mode
// pooler gives each statement any server connection, so a session lock
// could be released on the wrong one and outlive the run. The holder
// renews the row's 30 s lease while it runs; a run killed mid-way holds
// the lock until the lease ends. Reading the version (RequireCurrentSchema)
// takes no lock.
const (
	migrationLockPoll = time.Second
	migrationLockWait = 900 // polls: 15 minutes, longer than any migration measured
)

// lockRetryable says whether to ask for the migration lock again: yes
// while another run holds it or the server is briefly unavailable
// (connection, transaction rollback, resources, operator intervention:
// classes 08, 40, 53, 57), no for any other server error (no privilege on
// goose_lock, say), which would only fail again for 15 minutes. It says
// once that the run waits, as goose's locker logs nothing until it gives
// up.
func lockRetryable(log *slog.Logger) func(error) bool {
	var once sync.Once
	return func(err error) bool {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && len(pgErr.Code) == 5 && !slices.Contains([]string{"08", "40", "53", "57"}, pgErr.Code[:2]) {
			return false
		}
		once.Do(func() { log.Info("migrate: waiting for the migration lock", "reason", err.Error()) })
		return true
	}
}

// migrator returns a goose provider and a func releasing what it opened.
func (s *Store) migrator() (*goose.Provider, func(), error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, nil, err
	}
	release := func() {}
	dir, gooseDialect := "migrations/postgres", goose.DialectPostgres
	var opts []goose.ProviderOption
	switch s.dialect {
	case Postgres:
		locker, err := lock.NewPostgresTableLocker(lock.WithTableLockTimeout(migrationLockPoll, migrationLockWait),
			lock.WithTableLogger(s.log), lock.WithTableRetryPolicy(lockRetryable(s.log)))
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, goose.WithLocker(locker))
	case SQLite:
		dir, gooseDialect = "migrations/sqlite", goose.DialectSQLite3
		if sqlDB, err = sql.Open("sqlite3", s.sqliteMigrationDSN); err != nil {
			return nil, nil, err
		}
		// One connection: a migration that must turn foreign keys off does
		// so with a PRAGMA, which holds only for the connection it ran on.
		sqlDB.SetMaxOpenConns(1)
		release = func() { _ = sqlDB.Close() }
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		release()
		return nil, nil, err
	}
	p, err := goose.NewProvider(gooseDialect, sqlDB, fsys, opts...)
	if err != nil {
		release()
		return nil, nil, err
	}
	return p, release, nil
}

// Migrate applies every pending migration and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, release, err := s.migrator()
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	defer release()
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("store: migrate: %w", err)
	}
	return len(results), nil
}

// RequireCurrentSchema fails with ErrSchemaBehind while migrations are pending,
// so that old code never writes into a schema it does not know and new code
// never runs on a schema that lacks its columns.
func (s *Store) RequireCurrentSchema(ctx context.Context) error {
	p, release, err := s.migrator()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	defer release()
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("store: schema version: %w", err)
	}
	if pending {
		return ErrSchemaBehind
	}
	return nil
}

// Migrations exposes the embedded migration files (tests hash them).
func Migrations() fs.FS { return migrations }
