package modelgate

import (
	"errors"
	"fmt"
)

// Error codes. Adapters translate foreign failures into one of these so the
// engine and the CLI can decide what to do without knowing the backend.
const (
	ECONFLICT     = "conflict"     // the request clashes with current state (lock held, duplicate)
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	EINVALID      = "invalid"      // the input is malformed or violates a rule
	ENOTFOUND     = "not_found"    // the named thing does not exist
	EUNAVAILABLE  = "unavailable"  // a dependency cannot be reached; retrying may help
	EUNAUTHORIZED = "unauthorized" // credentials missing, wrong, or not allowed
	EPRECONDITION = "precondition" // the world is not in the state the step requires
)

// Error is a failure meant for a person: Message says what is wrong and, where
// it helps, Hint says what to do next.
type Error struct {
	Code    string
	Message string
	Hint    string
	Err     error // the underlying cause, kept for errors.Is/As
}

func (e *Error) Error() string {
	s := e.Message
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	if e.Err != nil && s == "" {
		return e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns a copy of e carrying a hint.
func (e *Error) WithHint(format string, args ...any) *Error {
	c := *e
	c.Hint = fmt.Sprintf(format, args...)
	return &c
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain (with
// its hint), or err.Error() otherwise.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}
