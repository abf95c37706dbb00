package main

import (
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The demo's owner name and plan description show in the pt-BR console as
// they are stored: they are seeded in Portuguese.
func TestDemoSeedSpeaksPortuguese(t *testing.T) {
	nodes, cfg := startNodes(t, 1)
	a := nodes[0]
	ctx := context.Background()
	require.NoError(t, seedDemo(ctx, a, cfg, io.Discard))
	planID, err := a.db.PlanByName(ctx, "Demo")
	require.NoError(t, err)
	plan, err := a.db.GetPlan(ctx, planID)
	require.NoError(t, err)
	require.Equal(t, "Tudo liberado, para experimentar o produto", plan.Description)
	var owner string
	require.NoError(t, a.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT name FROM platform_admins WHERE email = $1`, demoSuperEmail).Scan(&owner)
	}))
	require.Equal(t, "Dono da plataforma", owner)
}
