package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

// A supervisor's "Todas" tab lists every conversation of their teams,
// whoever holds it, besides their own and the queue; another team's list is
// refused (not answered empty), and so is its conversation.
func TestSupervisorListsTheirTeamsAndNotOthers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme-sup")
	supID, supToken := env.user(acme, crm.RoleSupervisor, "Sueli")
	agentID, agentToken := env.user(acme, crm.RoleAgent, "Bruno")
	otherID, _ := env.user(acme, crm.RoleAgent, "Carla")
	mine := env.addTeam(acme.ID, supID, agentID)
	theirs := env.addTeam(acme.ID, otherID)

	ctx := context.Background()
	connID := crm.NewID()
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'WA', 'whatsapp', 'sandbox', 'vt', 'ws')`, acme.ID, connID)
		return err
	}))
	conversation := func(phone string, assignee, team *uuid.UUID) string {
		t.Helper()
		contact := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "C " + phone, "phone": phone})
		id := crm.NewID()
		require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, assignee_id, team_id)
				VALUES ($1, $2, $3, $4, 'whatsapp', $5, $6)`, acme.ID, id, connID, contact["id"], assignee, team)
			return err
		}))
		return id.String()
	}
	teamHeldByAgent := conversation("11987650011", &agentID, &mine)
	teamUnassigned := conversation("11987650012", nil, &mine)
	queue := conversation("11987650013", nil, nil)
	otherTeam := conversation("11987650014", &otherID, &theirs)
	otherTeamQueue := conversation("11987650015", nil, &theirs)

	ids := func(res response) []string {
		t.Helper()
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		var out []string
		for _, c := range res.Items() {
			out = append(out, c["id"].(string))
		}
		return out
	}

	all := ids(env.do(http.MethodGet, "/api/v1/conversations", supToken, nil))
	require.ElementsMatch(t, []string{teamHeldByAgent, teamUnassigned, queue}, all, "Todas: the teams' conversations and the queue")
	require.NotContains(t, all, otherTeam)
	require.NotContains(t, all, otherTeamQueue)

	require.ElementsMatch(t, []string{teamHeldByAgent, teamUnassigned},
		ids(env.do(http.MethodGet, "/api/v1/conversations?team_id="+mine.String(), supToken, nil)))

	for _, token := range []string{supToken, agentToken} {
		res := env.do(http.MethodGet, "/api/v1/conversations?team_id="+theirs.String(), token, nil)
		require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
		require.Equal(t, "not_team_member", res.ErrorCode())
	}
	res := env.do(http.MethodGet, "/api/v1/conversations/"+otherTeam, supToken, nil)
	require.Equal(t, http.StatusNotFound, res.Status, string(res.Body))

	// An admin names any team.
	require.ElementsMatch(t, []string{otherTeam, otherTeamQueue},
		ids(env.do(http.MethodGet, "/api/v1/conversations?team_id="+theirs.String(), acme.AdminToken, nil)))
}
