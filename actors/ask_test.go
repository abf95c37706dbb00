package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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

// recordingSleeper stands in for the clock: it records the waits asked for
// and can fail one, as a cancelled context would.
type recordingSleeper struct {
	waits  []time.Duration
	failAt int // the wait (1-based) that returns the context's error; 0 never
}

func (s *recordingSleeper) sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	if len(s.waits) == s.failAt {
		return context.Canceled
	}
	return nil
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	cases := []struct {
		name string
		// answers are the outcomes of the successive tries: true asks
		// for a retry; an error ends at once.
		answers   []any
		failSleep int
		wantTries int
		wantWaits []time.Duration
		wantErr   error
	}{
		{name: "done first time", answers: []any{false}, wantTries: 1},
		{name: "transient twice then done", answers: []any{true, true, false}, wantTries: 3,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}},
		{name: "always transient stops after the attempts, waits capped", answers: []any{true, true, true, true, true, true, true, true},
			wantTries: 6, wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
				50 * time.Millisecond, 50 * time.Millisecond}},
		{name: "an error is returned at once", answers: []any{boom, false}, wantTries: 1, wantErr: boom},
		{name: "an error after a retry", answers: []any{true, boom}, wantTries: 2,
			wantWaits: []time.Duration{10 * time.Millisecond}, wantErr: boom},
		{name: "the context ends the waiting", answers: []any{true, true, true}, failSleep: 2, wantTries: 2,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, wantErr: context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &recordingSleeper{failAt: tc.failSleep}
			// The largest jitter: each wait is the full backoff step
			// (checked against the smallest in TestRetryPolicyJitter).
			p := retryPolicy{attempts: 6, base: 10 * time.Millisecond, max: 50 * time.Millisecond, sleep: s.sleep,
				jitter: func(n int64) int64 { return n - 1 }}
			tries := 0
			err := p.do(context.Background(), func() (bool, error) {
				a := tc.answers[tries]
				tries++
				if err, ok := a.(error); ok {
					return false, err
				}
				return a.(bool), nil
			})
			require.Equal(t, tc.wantTries, tries)
			require.Len(t, s.waits, len(tc.wantWaits))
			for i, w := range tc.wantWaits {
				// jitter n-1 of n nanoseconds: one below the step.
				require.Equal(t, w-time.Nanosecond, s.waits[i], "wait %d", i+1)
			}
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.wantErr)
			}
		})
	}
}

// Jitter spreads the waits of callers that failed together (two requests
// fenced by the same stale activation) over the upper half of each step.
func TestRetryPolicyJitter(t *testing.T) {
	t.Parallel()
	p := retryPolicy{attempts: 6, base: 10 * time.Millisecond, max: 50 * time.Millisecond}
	for retry, step := range []time.Duration{10, 20, 40, 50, 50} {
		step *= time.Millisecond
		p.jitter = func(n int64) int64 { return 0 }
		require.Equal(t, step/2, p.delay(retry))
		p.jitter = func(n int64) int64 { return n - 1 }
		require.Equal(t, step-time.Nanosecond, p.delay(retry))
	}
	// A large retry number neither overflows nor passes the cap.
	p.jitter = func(n int64) int64 { return n - 1 }
	require.Equal(t, 50*time.Millisecond-time.Nanosecond, p.delay(200))
}

// The policy the engine starts with retries a few times, briefly: a fenced
// activation is replaced at once, a deadlock clears in milliseconds: six
// tries in under 400 ms of waiting.
func TestEngineGrainRetryPolicy(t *testing.T) {
	t.Parallel()
	p := defaultGrainRetry()
	require.Equal(t, 6, p.attempts)
	var total time.Duration
	for retry := range p.attempts - 1 {
		total += p.delay(retry)
	}
	require.Less(t, total, 400*time.Millisecond)
}
