package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"crm/httpapi"
	"crm/persistence"
	"crm/persistence/pgtest"
	"crm/rediskv"
	"crm/rediskv/redistest"
)

// TestLimitersFollowRedisURL: without REDIS_URL the throttles count in
// PostgreSQL; with it, in Redis, the login throttle falling back to
// PostgreSQL; a malformed URL stops the node without printing its password.
func TestLimitersFollowRedisURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := &node{db: pgtest.NewDB(t)}
	log := slog.New(slog.DiscardHandler)

	login, rate, err := n.limiters(ctx, Config{}, log)
	require.NoError(t, err)
	require.IsType(t, &persistence.RateLimiter{}, login)
	require.IsType(t, &persistence.RateLimiter{}, rate)

	login, rate, err = n.limiters(ctx, Config{RedisURL: redistest.URL(t)}, log)
	require.NoError(t, err)
	t.Cleanup(func() { n.redis.Close() })
	fallback, ok := login.(*httpapi.FallbackLoginLimiter)
	require.True(t, ok, "%T", login)
	require.IsType(t, &rediskv.Client{}, fallback.Primary)
	require.IsType(t, &persistence.RateLimiter{}, fallback.Fallback)
	require.IsType(t, &rediskv.Client{}, rate)

	_, _, err = (&node{db: n.db}).limiters(ctx, Config{RedisURL: "redis://crm:s3cret-pass@127.0.0.1:notaport/0"}, log)
	require.ErrorContains(t, err, "REDIS_URL")
	require.NotContains(t, err.Error(), "s3cret-pass")
}
