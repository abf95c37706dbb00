package httpapi

import (
	"context"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"crm"
	"crm/persistence"
	"crm/rediskv"
)

// The throttles count cluster-wide: in Redis when REDIS_URL is set
// (rediskv), else in PostgreSQL (persistence.RateLimiter). Counting in each
// node's memory gave an attacker the budget once per node.
var (
	_ LoginLimiter  = (*persistence.RateLimiter)(nil)
	_ WindowLimiter = (*persistence.RateLimiter)(nil)
	_ LoginLimiter  = (*rediskv.Client)(nil)
	_ WindowLimiter = (*rediskv.Client)(nil)
)

// LoginAttempt is one password check (crm.LoginAttempt).
type LoginAttempt = crm.LoginAttempt

// LoginLimits shape the login throttle (crm.LoginLimits).
type LoginLimits = crm.LoginLimits

// LoginLimiter throttles password guessing. It counts by the pair (account,
// address) and by address alone, never by account alone: a stranger failing
// from their own address must not stop the owner logging in from another.
// The rules are crm.LoginLimits'.
type LoginLimiter interface {
	// Attempt asks to check one password. It answers how long the caller
	// must wait first (and then records nothing), or 0 and counts the
	// attempt as a failure until Succeeded says otherwise. Counting before
	// the check keeps a burst of parallel guesses from all passing before
	// the first failure is recorded.
	Attempt(ctx context.Context, a LoginAttempt) (wait time.Duration, err error)
	// Succeeded says the password was right: the pair's failures are
	// forgotten and the attempt no longer counts against the address.
	Succeeded(ctx context.Context, a LoginAttempt) error
}

// WindowLimiter counts requests per key in fixed windows, shared by every
// node: Allow counts one and says whether it is within limit, and if not how
// long until the window ends. The key says what is limited and for whom
// (e.g. "license-verify:<address>").
type WindowLimiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// FallbackLoginLimiter asks Primary (Redis) and, when it fails, Fallback
// (PostgreSQL): an attacker who can knock Redis over must not get unlimited
// guesses. Counts do not carry across: while Redis is down the throttle
// starts afresh in PostgreSQL, which gives an attacker at most one more
// budget per outage, never an unlimited one.
type FallbackLoginLimiter struct {
	Primary, Fallback LoginLimiter
	Log               *slog.Logger
	logged            logEvery
}

var _ LoginLimiter = (*FallbackLoginLimiter)(nil)

// Attempt asks Primary, else Fallback.
func (f *FallbackLoginLimiter) Attempt(ctx context.Context, a LoginAttempt) (time.Duration, error) {
	wait, err := f.Primary.Attempt(ctx, a)
	if err == nil {
		return wait, nil
	}
	if ctx.Err() != nil {
		return 0, err
	}
	f.logged.warn(f.Log, "login throttle: the shared store failed; counting in PostgreSQL instead", err)
	return f.Fallback.Attempt(ctx, a)
}

// Succeeded tells both: the attempt may have been counted by either.
func (f *FallbackLoginLimiter) Succeeded(ctx context.Context, a LoginAttempt) error {
	if err := f.Primary.Succeeded(ctx, a); err != nil && ctx.Err() == nil {
		f.logged.warn(f.Log, "login throttle: the shared store failed; counting in PostgreSQL instead", err)
	}
	return f.Fallback.Succeeded(ctx, a)
}

// logEvery logs a failure at most once in ten seconds: a store that is down
// fails every request, and one line per request would bury the logs.
type logEvery struct{ last atomic.Int64 }

func (l *logEvery) warn(log *slog.Logger, msg string, err error) {
	if log == nil {
		log = slog.Default()
	}
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(10*time.Second) || !l.last.CompareAndSwap(last, now) {
		return
	}
	log.Warn(msg, "error", err)
}

// allow applies a rate limit to the request: nil when within it, else the
// 429 error with retry_after_seconds (and so Retry-After). A limiter that
// fails lets the request through (fail open) and logs: a Redis outage must
// not take the API down with it. The login throttle does not fail open
// (FallbackLoginLimiter).
func (s *Server) allow(ctx context.Context, key string, limit int, window time.Duration, code, message string) error {
	ok, wait, err := s.rateLimiter.Allow(ctx, key, limit, window)
	if err != nil {
		if ctx.Err() == nil {
			s.rateLimitFailures.warn(s.log, "rate limit: the counters' store failed; letting the request through", err)
		}
		return nil
	}
	if ok {
		return nil
	}
	return crm.NewError(crm.ErrRateLimited, code, message,
		map[string]any{"retry_after_seconds": max(1, int(math.Ceil(wait.Seconds())))})
}
