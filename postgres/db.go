package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modelgate/modelgate"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key under which migrations run, so two
// processes opening a fresh database apply each migration once. Any fixed
// number works; this one spells "mgate" in ASCII.
const migrationLock = 0x6d67617465

// DB is the PostgreSQL database behind the PromotionStore, shared by every
// modelgate process that opens the same DSN. Each write runs in its own
// transaction; read-then-write checks take row locks or use conditional
// upserts, so two processes cannot both win (see AcquireLock).
type DB struct {
	// DSN is the connection string, as a URL (postgres://user@host/db) or
	// key=value pairs, with the usual PG* environment variables filling in
	// what it leaves out. Required.
	DSN string

	// Now is the clock for the timestamps the store sets itself and for lock
	// expiry: the processes' clocks, not the server's, as with sqlite. NewDB
	// sets time.Now; nil means time.Now too. Tests replace it.
	Now func() time.Time

	pool *pgxpool.Pool
}

// NewDB returns a DB for dsn. Call Open before use.
func NewDB(dsn string) *DB {
	return &DB{DSN: dsn, Now: time.Now}
}

// Open connects (failing with EUNAVAILABLE when the server cannot be
// reached) and applies any migration not yet recorded in schema_migrations.
func (db *DB) Open(ctx context.Context) error {
	if db.Now == nil {
		db.Now = time.Now
	}
	if db.DSN == "" {
		return modelgate.Errorf(modelgate.EINVALID, "postgres: a connection string (DSN) is required")
	}
	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		// The parse error can quote the DSN, password included: keep it out.
		return modelgate.Errorf(modelgate.EINVALID, "postgres: the connection string is not valid").
			WithHint("use postgres://user@host:5432/dbname or host=... dbname=... key=value pairs")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return translate("connect to postgres", err)
	}
	// pgxpool dials lazily: ping so a wrong host fails here, not mid-step.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return unavailable(fmt.Sprintf("connect to postgres at %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), err)
	}
	db.pool = pool
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		db.pool = nil
		return translate("migrate database", err)
	}
	return nil
}

// Close closes the connections.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
	}
	return nil
}

// migrate applies the embedded migrations in file-name order, all in one
// transaction under an advisory lock, so concurrent openers wait for each
// other and a failed migration leaves nothing half done.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`)
		if err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for _, name := range names {
			if err := db.applyMigration(ctx, tx, name); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		return nil
	})
}

func (db *DB) applyMigration(ctx context.Context, tx pgx.Tx, name string) error {
	var applied bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&applied)
	if err != nil || applied {
		return err
	}
	text, err := migrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	// Without arguments pgx uses the simple protocol, which runs a file of
	// several statements.
	if _, err := tx.Exec(ctx, string(text)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, db.Now().UTC())
	return err
}

// update runs fn in a read-write transaction and commits it if fn returns
// nil.
func (db *DB) update(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return db.inTx(ctx, pgx.TxOptions{}, fn)
}

// view runs fn in a read-only, repeatable-read transaction: one snapshot
// across several queries, without blocking writers.
func (db *DB) view(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return db.inTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, fn)
}

func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	if db.pool == nil {
		return modelgate.Errorf(modelgate.EINTERNAL, "postgres: the database is not open")
	}
	return pgx.BeginTxFunc(ctx, db.pool, opts, fn)
}

// timeArg stores t in UTC; the zero time is stored as NULL, so "not yet"
// (an unended promotion) stays distinguishable from any real instant.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// timeOf reverses timeArg: NULL reads back as the zero time.
func timeOf(ts pgtype.Timestamptz) time.Time {
	if !ts.Valid {
		return time.Time{}
	}
	return ts.Time.UTC()
}

// isNoRows reports a query that found nothing.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
