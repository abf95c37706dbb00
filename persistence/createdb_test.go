package persistence_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// A DATABASE_URL naming a database its server does not have yet gets it
// made; the second time there is nothing to do.
func TestEnsureDatabaseCreatesAMissingOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := fmt.Sprintf("crm_new_%s", crm.NewID().String()[24:])
	t.Cleanup(func() {
		admin, err := pgx.Connect(context.Background(), pgtest.AdminURL())
		if err == nil {
			admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
			admin.Close(context.Background())
		}
	})
	url := pgtest.URLFor(name)
	created, err := persistence.EnsureDatabase(ctx, url)
	require.NoError(t, err)
	require.True(t, created)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err, "the database is there now")
	require.NoError(t, conn.Close(ctx))
	created, err = persistence.EnsureDatabase(ctx, url)
	require.NoError(t, err)
	require.False(t, created)

	_, err = persistence.EnsureDatabase(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	require.Error(t, err, "an unreachable server is an error, not a database to create")
}
