package providers

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
)

// TestWebhookCache: answers, not-found ones included, are kept for the TTL;
// a failing lookup is asked again; Forget drops an answer at once.
func TestWebhookCache(t *testing.T) {
	t.Parallel()
	known, gone, flaky := uuid.New(), uuid.New(), uuid.New()
	var calls atomic.Int32
	lookup := func(_ context.Context, id uuid.UUID) (*WebhookConnection, error) {
		calls.Add(1)
		switch id {
		case known:
			return &WebhookConnection{ID: id, Provider: Meta}, nil
		case gone:
			return nil, crm.NotFound("connection")
		}
		return nil, errors.New("database unavailable")
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cache := NewWebhookCache(WebhookCacheConfig{Lookup: lookup, TTL: 10 * time.Second, Now: func() time.Time { return now }})
	ctx := context.Background()

	for range 3 {
		conn, err := cache.Get(ctx, known)
		require.NoError(t, err)
		require.Equal(t, known, conn.ID)
		_, err = cache.Get(ctx, gone)
		require.ErrorIs(t, err, crm.ErrNotFound)
	}
	require.EqualValues(t, 2, calls.Load(), "one lookup each while fresh")

	for range 2 {
		_, err := cache.Get(ctx, flaky)
		require.EqualError(t, err, "database unavailable")
	}
	require.EqualValues(t, 4, calls.Load(), "a failed lookup is not kept")

	cache.Forget(known)
	_, err := cache.Get(ctx, known)
	require.NoError(t, err)
	require.EqualValues(t, 5, calls.Load(), "forgotten")

	now = now.Add(11 * time.Second)
	_, err = cache.Get(ctx, gone)
	require.ErrorIs(t, err, crm.ErrNotFound)
	require.EqualValues(t, 6, calls.Load(), "expired")

	_, err = NewWebhookCache(WebhookCacheConfig{}).Get(ctx, known)
	require.ErrorIs(t, err, crm.ErrNotFound, "no lookup finds nothing")
}
