package sqlite

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/modelgate/modelgate"
)

// translate is the adapter boundary: every exported method returns its error
// through it. Domain errors pass through unchanged (their messages copy
// MLflow's); a database still locked after BusyTimeout becomes EUNAVAILABLE,
// so callers may retry; anything else is EINTERNAL, keeping the cause.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var me *modelgate.Error
	if errors.As(err, &me) {
		return me
	}
	if sqliteCode(err)&0xff == sqlite3.SQLITE_BUSY {
		return &modelgate.Error{
			Code:    modelgate.EUNAVAILABLE,
			Message: op + ": the database is locked by another process",
			Hint:    "retry; another modelgate process is writing",
			Err:     err,
		}
	}
	return &modelgate.Error{Code: modelgate.EINTERNAL, Message: op + ": " + err.Error(), Err: err}
}

// sqliteCode returns the extended SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
