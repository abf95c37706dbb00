package persistence_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestRateCountersPurge: the purge deletes only the counters whose windows
// have ended, and the table skips the WAL (UNLOGGED). The throttle's rules
// are tested against both stores in httpapi (TestLoginLimiterConformance).
func TestRateCountersPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	now := time.Now()
	r := persistence.NewRateLimiter(db, persistence.RateLimiterConfig{Login: crm.LoginLimits{Window: 15 * time.Minute},
		Now: func() time.Time { return now }})
	wait, err := r.Attempt(ctx, crm.LoginAttempt{Account: "ana@acme.test", IP: "192.0.2.1"})
	require.NoError(t, err)
	require.Zero(t, wait)
	ok, _, err := r.Allow(ctx, "license-verify:192.0.2.1", 1, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	gone, err := db.PurgeRateCounters(ctx, now)
	require.NoError(t, err)
	require.Zero(t, gone, "every window is still open")
	gone, err = db.PurgeRateCounters(ctx, now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(1), gone, "the minute window ended")
	gone, err = db.PurgeRateCounters(ctx, now.Add(16*time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(2), gone, "the login pair and address")

	var persistence string
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT relpersistence FROM pg_class WHERE relname = 'rate_counters'`).Scan(&persistence))
	require.Equal(t, "u", persistence)
}
