package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modelgate/modelgate"
)

// PostgreSQL error codes (SQLSTATE) the store reacts to.
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	lockNotAvailable     = "55P03"
	classConnection      = "08" // connection exceptions
	classResources       = "53" // insufficient resources (too many connections, disk full)
	classOperator        = "57" // operator intervention (shutdown, cancelled statement)
)

// translate is the adapter boundary: every exported method returns its error
// through it. Domain errors pass through unchanged; an unreachable server,
// a lost connection or a transaction PostgreSQL chose to abort (deadlock,
// serialization) becomes EUNAVAILABLE, so callers may retry; anything else
// is EINTERNAL, keeping the cause.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var me *modelgate.Error
	if errors.As(err, &me) {
		return me
	}
	if retryable(err) {
		return unavailable(op, err)
	}
	return &modelgate.Error{Code: modelgate.EINTERNAL, Message: op + ": " + err.Error(), Err: err}
}

func unavailable(op string, err error) error {
	return &modelgate.Error{
		Code:    modelgate.EUNAVAILABLE,
		Message: op + ": " + err.Error(),
		Hint:    "retry; check that the PostgreSQL server is up and reachable",
		Err:     err,
	}
}

// retryable reports a failure that says nothing about the request itself.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case serializationFailure, deadlockDetected, lockNotAvailable:
			return true
		}
		class := pe.Code[:2]
		return class == classConnection || class == classResources || class == classOperator
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)
}

// constraint returns the name of the constraint err violated with the given
// SQLSTATE, "" when err is something else.
func constraint(err error, code string) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == code {
		return pe.ConstraintName, true
	}
	return "", false
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	_, ok := constraint(err, uniqueViolation)
	return ok
}

// isForeignKey reports a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	_, ok := constraint(err, foreignKeyViolation)
	return ok
}
