package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

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

// The demo company starts with labels, quick replies, a sales team with the
// agent and the supervisor, a supervisor login, and (crm serve --demo) two
// customers' conversations: the first inbox is not empty. Seeding again
// adds nothing.
func TestDemoSeedFillsTheFirstInbox(t *testing.T) {
	t.Parallel()
	nodes, cfg := startNodes(t, 1)
	n := nodes[0]
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, seedDemo(ctx, n, cfg, &out))
	require.Contains(t, out.String(), demoSupEmail, "the supervisor login is printed")
	require.NoError(t, seedDemoConversations(ctx, n))

	base := "http://" + n.Addr()
	supervisor := client{t: t, base: base, token: login(t, base, demoSupEmail)}
	admin := client{t: t, base: base, token: login(t, base, demoAdminEmail)}
	names := func(path, key string) []string {
		var out []string
		for _, item := range admin.items(path) {
			out = append(out, item[key].(string))
		}
		return out
	}
	require.ElementsMatch(t, []string{"Novo cliente", "Orçamento", "Urgente"}, names("/api/v1/labels", "name"))
	require.ElementsMatch(t, []string{"ola", "horario", "pix"}, names("/api/v1/quick-replies", "shortcut"))
	teams := admin.items("/api/v1/teams")
	require.Len(t, teams, 1)
	require.Equal(t, "Vendas", teams[0]["name"])
	require.Len(t, teams[0]["member_ids"], 2, "the agent and the supervisor")

	require.Eventually(t, func() bool { return len(supervisor.items("/api/v1/conversations")) == 2 },
		15*time.Second, 50*time.Millisecond, "two customers wrote to the sandbox number")
	contacts := names("/api/v1/contacts", "name")
	require.ElementsMatch(t, []string{"Maria Oliveira", "João Souza"}, contacts)

	require.NoError(t, seedDemo(ctx, n, cfg, io.Discard))
	require.NoError(t, seedDemoConversations(ctx, n))
	require.Len(t, names("/api/v1/labels", "name"), 3)
	require.Len(t, names("/api/v1/quick-replies", "shortcut"), 3)
	require.Len(t, admin.items("/api/v1/teams"), 1)
	require.Len(t, admin.items("/api/v1/conversations"), 2, "no new conversation on a restart")
}
