package persistence_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm/persistence/pgtest"
)

// TestUUIDsRoundTrip: ids, nullable ids and arrays of both go to
// PostgreSQL and back unchanged, NULL included, in the binary format (the
// fast path) and in the text format (pgx's own path, the simple protocol).
func TestUUIDsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	a, b := uuid.MustParse("0190f2a4-1b2c-7d3e-8f40-5a6b7c8d9e0f"), uuid.New()
	var nilID *uuid.UUID

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		var got uuid.UUID
		var gotPtr, gotNull *uuid.UUID
		var text string
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT $1::uuid, $2::uuid, $3::uuid, $1::uuid::text`, mode, a, &b, nilID).
			Scan(&got, &gotPtr, &gotNull, &text), "mode %v", mode)
		require.Equal(t, a, got)
		require.NotNil(t, gotPtr)
		require.Equal(t, b, *gotPtr)
		require.Nil(t, gotNull)
		require.Equal(t, a.String(), text, "the server reads the same id the client meant")
		if mode == pgx.QueryExecModeSimpleProtocol {
			continue // pgx cannot send a []uuid.UUID of unknown type as text, with or without this codec
		}

		var ids []uuid.UUID
		var texts []string
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT array_agg(u ORDER BY o), array_agg(coalesce(p::text, 'null') ORDER BY o)
			FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS x(u, p, o)`,
			[]uuid.UUID{a, b}, []*uuid.UUID{nil, &a}).Scan(&ids, &texts))
		require.Equal(t, []uuid.UUID{a, b}, ids)
		require.Equal(t, []string{"null", a.String()}, texts)
	}

	var null uuid.UUID
	err := db.Pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&null)
	require.Error(t, err, "NULL cannot go into a uuid.UUID")
}
