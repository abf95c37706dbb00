package migrations_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/migrations"
	"crm/persistence/pgtest"
)

// emptyDatabase is a database with nothing in it (pgtest's are migrated).
func emptyDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	name := "crm_e_" + strings.ReplaceAll(crm.NewID().String(), "-", "")[:20]
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	require.NoError(t, err)
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if admin, err := pgx.Connect(ctx, pgtest.AdminURL()); err == nil {
			admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`) //nolint:errcheck
			admin.Close(ctx)
		}
	})
	return pgtest.URLFor(name)
}

// TestApplyRunsRiversMigrations: Apply on an empty database builds River's
// schema after ours, at the version this binary pins, with the tenant role
// allowed to insert jobs; running it again changes nothing.
func TestApplyRunsRiversMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, emptyDatabase(t))
	require.NoError(t, err)
	defer conn.Close(ctx)

	applied, err := migrations.Apply(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, migrations.Latest(), applied[len(applied)-1])
	var river int
	require.NoError(t, conn.QueryRow(ctx, `SELECT max(version) FROM river_migration`).Scan(&river))
	require.Equal(t, migrations.RiverVersion(), river)
	require.Positive(t, river)
	var mayInsert bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT has_table_privilege('crm_app', 'river_job', 'INSERT')`).Scan(&mayInsert))
	require.True(t, mayInsert)

	applied, err = migrations.Apply(ctx, conn)
	require.NoError(t, err)
	require.Empty(t, applied)
	var versions int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM river_migration`).Scan(&versions))
	require.Equal(t, river, versions, "each River version once")
}
