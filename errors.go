package crm

import (
	"errors"
	"fmt"
)

// Sentinel kinds. Every error the domain returns wraps one of them, so the
// HTTP layer can map it to a status with one table.
var (
	ErrInvalid         = errors.New("invalid input")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrPlanLimit       = errors.New("plan limit")
	ErrTooLarge        = errors.New("too large")
	ErrRateLimited     = errors.New("rate limited")
	ErrUnprocessable   = errors.New("unprocessable")
)

// Error is a coded error with a stable snake_case code, a human message and
// optional details (field errors, limits). Kind is one of the sentinels above.
type Error struct {
	Kind    error
	Code    string
	Message string
	Details map[string]any
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Code + ": " + e.Message
	}
	return e.Code
}

func (e *Error) Unwrap() error { return e.Kind }

// NewError builds a coded error of the given kind.
func NewError(kind error, code, message string, details map[string]any) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Details: details}
}

// NotFound is the usual "no such <thing>" error. It never says whether the
// thing exists in another tenant.
func NotFound(thing string) *Error {
	return &Error{Kind: ErrNotFound, Code: "not_found", Message: thing + " not found"}
}

// Conflict reports a uniqueness clash on a field.
func Conflict(field, message string) *Error {
	return &Error{Kind: ErrConflict, Code: "conflict", Message: message,
		Details: map[string]any{"field": field}}
}

// FieldErrors collects validation problems keyed by field name.
type FieldErrors map[string]string

// Add records a problem for field unless one is already recorded.
func (f FieldErrors) Add(field, format string, args ...any) {
	if _, ok := f[field]; !ok {
		f[field] = fmt.Sprintf(format, args...)
	}
}

// Err returns nil when there are no problems, else a validation error whose
// details carry the fields.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	fields := make(map[string]any, len(f))
	for k, v := range f {
		fields[k] = v
	}
	return &Error{Kind: ErrInvalid, Code: "validation_failed", Message: "some fields are invalid",
		Details: map[string]any{"fields": fields}}
}
