package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

func TestTeamCRUD(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	ana, _ := env.user(acme, crm.RoleAgent, "Ana")
	bia, _ := env.user(acme, crm.RoleAgent, "Bia")

	res := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{
		"name": " Sales ", "description": "Inbound leads", "member_ids": []string{ana.String(), bia.String(), ana.String()}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	team := res.JSON()
	id := team["id"].(string)
	require.Equal(t, "Sales", team["name"])
	require.Equal(t, "Inbound leads", team["description"])
	require.ElementsMatch(t, []any{ana.String(), bia.String()}, team["member_ids"])

	// Membership shows on the users too.
	res = env.do(http.MethodGet, "/api/v1/users/"+ana.String(), acme.AdminToken, nil)
	require.Equal(t, []any{id}, res.JSON()["team_ids"])

	res = env.do(http.MethodGet, "/api/v1/teams/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "Sales", res.JSON()["name"])

	res = env.do(http.MethodPatch, "/api/v1/teams/"+id, acme.AdminToken, map[string]any{"member_ids": []string{bia.String()}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, []any{bia.String()}, res.JSON()["member_ids"])
	require.Equal(t, "Inbound leads", res.JSON()["description"], "fields not given stay")

	res = env.do(http.MethodPatch, "/api/v1/teams/"+id, acme.AdminToken, map[string]any{"name": "Sales BR", "description": ""})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "Sales BR", res.JSON()["name"])
	require.Equal(t, "", res.JSON()["description"])
	require.Equal(t, []any{bia.String()}, res.JSON()["member_ids"])

	res = env.do(http.MethodGet, "/api/v1/teams", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Len(t, res.Items(), 1)

	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/teams/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/teams/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/teams/"+id, acme.AdminToken, nil).Status)
	res = env.do(http.MethodGet, "/api/v1/users/"+bia.String(), acme.AdminToken, nil)
	require.Equal(t, []any{}, res.JSON()["team_ids"])
}

func TestTeamValidationAndConflicts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	outsider, _ := env.user(globex, crm.RoleAgent, "Out")

	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{}, "name"},
		{map[string]any{"name": " "}, "name"},
		{map[string]any{"name": strings.Repeat("n", 121)}, "name"},
		{map[string]any{"name": "X", "description": strings.Repeat("d", 1001)}, "description"},
		{map[string]any{"name": "X", "member_ids": []string{crm.NewID().String()}}, "member_ids"},
		{map[string]any{"name": "X", "member_ids": []string{outsider.String()}}, "member_ids"},
		{map[string]any{"name": "X", "color": "red"}, "color"},
	} {
		res := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%v: %s", tc.body, res.Body)
		require.Contains(t, directoryFieldErrors(t, res), tc.field, "%v: %s", tc.body, res.Body)
	}

	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Support"}).Status)
	res := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Support"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "name", directoryErrorDetails(t, res)["field"])
	// Names are per tenant.
	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/teams", globex.AdminToken, map[string]any{"name": "Support"}).Status)

	other := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Billing"}).JSON()["id"].(string)
	res = env.do(http.MethodPatch, "/api/v1/teams/"+other, acme.AdminToken, map[string]any{"name": "Support"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "name", directoryErrorDetails(t, res)["field"])
	res = env.do(http.MethodPatch, "/api/v1/teams/"+other, acme.AdminToken, map[string]any{"member_ids": []string{outsider.String()}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "member_ids")
}

func TestTeamCrossTenantAndPermissions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	theirs := env.do(http.MethodPost, "/api/v1/teams", globex.AdminToken, map[string]any{"name": "Theirs"}).JSON()["id"].(string)
	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		var body any
		if method == http.MethodPatch {
			body = map[string]any{"name": "Mine now"}
		}
		res := env.do(method, "/api/v1/teams/"+theirs, acme.AdminToken, body)
		require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", method, res.Body)
	}
	require.Equal(t, "Theirs", env.do(http.MethodGet, "/api/v1/teams/"+theirs, globex.AdminToken, nil).JSON()["name"])

	_, agent := env.user(acme, crm.RoleAgent, "Agent")
	_, supervisor := env.user(acme, crm.RoleSupervisor, "Super")
	mine := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Mine"}).JSON()["id"].(string)
	for _, token := range []string{agent, supervisor} {
		require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/teams", token, nil).Status)
		require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/teams/"+mine, token, nil).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, "/api/v1/teams", token, map[string]any{"name": "Nope"}).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodPatch, "/api/v1/teams/"+mine, token, map[string]any{"name": "Nope"}).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodDelete, "/api/v1/teams/"+mine, token, nil).Status)
	}
}

func TestTeamPaginationAndAudit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	for i := range 7 {
		res := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": fmt.Sprintf("Team %02d", 7-i)})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}
	all := directoryWalk(t, env, "/api/v1/teams?limit=3", acme.AdminToken)
	require.Len(t, all, 7)
	for i, item := range all {
		require.Equal(t, fmt.Sprintf("Team %02d", i+1), item["name"], "ordered by name")
	}
	require.Len(t, env.do(http.MethodGet, "/api/v1/teams?q=team+0", acme.AdminToken, nil).Items(), 7)
	require.Len(t, env.do(http.MethodGet, "/api/v1/teams?q=03", acme.AdminToken, nil).Items(), 1)

	id := uuid.MustParse(all[0]["id"].(string))
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/teams/"+id.String(), acme.AdminToken, map[string]any{"description": "x"}).Status)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/teams/"+id.String(), acme.AdminToken, nil).Status)
	rows := directoryAudit(t, env, acme.ID, "team", id)
	require.Len(t, rows, 3)
	require.Equal(t, []string{"create", "update", "delete"}, []string{rows[0].Action, rows[1].Action, rows[2].Action})
	require.Equal(t, acme.AdminID, rows[2].ActorID)
	require.Contains(t, rows[2].Before, "Team 01")
	require.Empty(t, rows[2].After)
	require.NotEmpty(t, rows[2].IP)
}

func TestTeamInUseCannotBeDeleted(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	teamID := uuid.MustParse(env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Busy"}).JSON()["id"].(string))
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		connID, contactID := crm.NewID(), crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'wa', 'whatsapp', 'sandbox', 'v', 's')`, acme.ID, connID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name) VALUES ($1, $2, 'Customer')`, acme.ID, contactID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, team_id)
			VALUES ($1, $2, $3, $4, 'whatsapp', $5)`, acme.ID, crm.NewID(), connID, contactID, teamID)
		return err
	}))
	res := env.do(http.MethodDelete, "/api/v1/teams/"+teamID.String(), acme.AdminToken, nil)
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "team_in_use", res.ErrorCode())
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/teams/"+teamID.String(), acme.AdminToken, nil).Status)
}
