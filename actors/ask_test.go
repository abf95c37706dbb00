package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// safeToRetry is how pgx marks an error met before anything reached the
// server (a broken pooled connection): running the statement again is safe.
type safeToRetry struct{}

func (safeToRetry) Error() string     { return "connection closed before the query was sent" }
func (safeToRetry) SafeToRetry() bool { return true }

// A grain's refusal is retried only when running it again may succeed: a
// fenced (stale) activation, a serialization failure or deadlock, a
// connection lost before the statement was sent. Anything else, unknown
// errors included, is answered at once: retrying a bug or a bad row six
// times only hides it.
func TestResultErrorRetryableOnlyWhenTransient(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		err       error
		code      string
		retryable bool
	}{
		{"fenced", fmt.Errorf("saving: %w", persistence.ErrFenced), "fenced", true},
		{"serialization failure translated", persistence.Translate(&pgconn.PgError{Code: "40001"}), "retry", true},
		{"deadlock translated", persistence.Translate(&pgconn.PgError{Code: "40P01"}), "retry", true},
		{"serialization failure raw", fmt.Errorf("inserting message: %w", &pgconn.PgError{Code: "40001"}), "internal", true},
		{"deadlock raw", &pgconn.PgError{Code: "40P01"}, "internal", true},
		{"connection lost before sending", fmt.Errorf("loading: %w", safeToRetry{}), "internal", true},
		{"not found", crm.NotFound("conversation"), "not_found", false},
		{"invalid reference", persistence.Translate(&pgconn.PgError{Code: "23503"}), "invalid_reference", false},
		{"unique violation raw", &pgconn.PgError{Code: "23505"}, "internal", false},
		{"unknown", errors.New("something nobody expected"), "internal", false},
		{"timeout", fmt.Errorf("writing: %w", context.DeadlineExceeded), "internal", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := resultError(tc.err)
			require.Equal(t, tc.code, got.GetCode())
			require.Equal(t, tc.retryable, got.GetRetryable())
		})
	}
}

