package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/modelgate/modelgate"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// BusyTimeout is how long a statement waits for another connection or
// process to release the database before failing with EUNAVAILABLE.
const BusyTimeout = 5 * time.Second

// DB is the SQLite database behind the Registry and the PromotionStore. Several
// processes may open the same file: the database runs in WAL mode and every
// write transaction starts with BEGIN IMMEDIATE, so read-then-write checks
// (active promotion, lock owner, next version number) cannot interleave.
type DB struct {
	// Now is the clock for the timestamps the store sets itself and for lock
	// expiry. NewDB sets time.Now; nil means time.Now too. Tests replace it.
	Now func() time.Time

	path string
	db   *sql.DB
}

// NewDB returns a DB for the file at path. Call Open before use.
func NewDB(path string) *DB {
	return &DB{Now: time.Now, path: path}
}

// Open creates the file's parent directories, opens the database and applies
// any migration not yet recorded in schema_migrations.
func (db *DB) Open() error {
	if db.Now == nil {
		db.Now = time.Now
	}
	path, err := checkPath(db.path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	sqlDB, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	db.db = sqlDB
	ctx := context.Background()
	if err := db.migrate(ctx); err != nil {
		db.db.Close()
		return translate(fmt.Sprintf("migrate database %s", db.path), err)
	}
	return nil
}

// checkPath makes path absolute, so the driver never reads it as a "file:"
// URI, and rejects '?', which would start the driver's parameters.
func checkPath(path string) (string, error) {
	if path == "" {
		return "", modelgate.Errorf(modelgate.EINVALID, "sqlite: database path required")
	}
	if strings.Contains(path, "?") {
		return "", modelgate.Errorf(modelgate.EINVALID, "sqlite: database path %q must not contain '?'", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve database path: %w", err)
	}
	return abs, nil
}

// dsn asks the driver for WAL, a busy timeout, foreign keys, and BEGIN
// IMMEDIATE for every transaction not marked read-only.
func dsn(path string) string {
	return path + "?_busy_timeout=" + fmt.Sprint(BusyTimeout.Milliseconds()) +
		"&_journal_mode=WAL&_foreign_keys=1&_txlock=immediate"
}

// Close closes the database.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	return db.db.Close()
}

// migrate applies the embedded migrations in file-name order, each in its own
// write transaction so two processes opening a fresh file apply each once.
func (db *DB) migrate(ctx context.Context) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`
	if _, err := db.db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := db.update(ctx, func(tx *sql.Tx) error { return db.applyMigration(ctx, tx, name) }); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	text, err := migrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(text)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, formatTime(db.Now()))
	return err
}

// update runs fn in a write transaction (BEGIN IMMEDIATE) and commits it if
// fn returns nil.
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, nil, fn)
}

// view runs fn in a read-only transaction, for a consistent snapshot across
// several queries without blocking writers.
func (db *DB) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

func (db *DB) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	if db.db == nil {
		return modelgate.Errorf(modelgate.EINTERNAL, "sqlite: database %s is not open", db.path)
	}
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// timeLayout is fixed-width so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime stores t in UTC; the zero time is stored as "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reverses formatTime.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t, nil
}

// parseTimes parses several stored times at once, keeping scanners short.
func parseTimes(pairs map[*time.Time]string) error {
	for dst, s := range pairs {
		t, err := parseTime(s)
		if err != nil {
			return err
		}
		*dst = t
	}
	return nil
}

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
