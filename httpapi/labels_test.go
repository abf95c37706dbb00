package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
)

func TestLabelCRUD(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")

	res := env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "VIP"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	label := res.JSON()
	id := label["id"].(string)
	require.Equal(t, "VIP", label["name"])
	require.Equal(t, "#64748b", label["color"], "default color")

	res = env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "Hot", "color": "#FF0000"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	require.Equal(t, "#ff0000", res.JSON()["color"])

	res = env.do(http.MethodGet, "/api/v1/labels/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "VIP", res.JSON()["name"])

	res = env.do(http.MethodPatch, "/api/v1/labels/"+id, acme.AdminToken, map[string]any{"color": "#22c55e"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "#22c55e", res.JSON()["color"])
	require.Equal(t, "VIP", res.JSON()["name"])

	res = env.do(http.MethodPatch, "/api/v1/labels/"+id, acme.AdminToken, map[string]any{"name": "Gold"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "Gold", res.JSON()["name"])
	require.Equal(t, "#22c55e", res.JSON()["color"])

	res = env.do(http.MethodGet, "/api/v1/labels", acme.AdminToken, nil)
	require.Equal(t, []string{"Gold", "Hot"}, []string{res.Items()[0]["name"].(string), res.Items()[1]["name"].(string)})

	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/labels/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/labels/"+id, acme.AdminToken, nil).Status)
}

func TestLabelValidationAndConflicts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"color": "#000000"}, "name"},
		{map[string]any{"name": strings.Repeat("l", 61)}, "name"},
		{map[string]any{"name": "X", "color": "red"}, "color"},
		{map[string]any{"name": "X", "color": "#12345"}, "color"},
		{map[string]any{"name": "X", "color": "#1234567"}, "color"},
		{map[string]any{"name": "X", "colour": "#123456"}, "colour"},
	} {
		res := env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%v: %s", tc.body, res.Body)
		require.Contains(t, directoryFieldErrors(t, res), tc.field, "%v: %s", tc.body, res.Body)
	}

	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "Lead"}).Status)
	res := env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "Lead", "color": "#000000"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "name", directoryErrorDetails(t, res)["field"])
	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/labels", globex.AdminToken, map[string]any{"name": "Lead"}).Status)

	other := env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "Cold"}).JSON()["id"].(string)
	res = env.do(http.MethodPatch, "/api/v1/labels/"+other, acme.AdminToken, map[string]any{"name": "Lead"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "name", directoryErrorDetails(t, res)["field"])
	res = env.do(http.MethodPatch, "/api/v1/labels/"+other, acme.AdminToken, map[string]any{"color": "blue"})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "color")
}

func TestLabelCrossTenantAndPermissions(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	theirs := env.do(http.MethodPost, "/api/v1/labels", globex.AdminToken, map[string]any{"name": "Theirs"}).JSON()["id"].(string)
	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		var body any
		if method == http.MethodPatch {
			body = map[string]any{"name": "Mine now"}
		}
		res := env.do(method, "/api/v1/labels/"+theirs, acme.AdminToken, body)
		require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", method, res.Body)
	}
	require.Equal(t, "Theirs", env.do(http.MethodGet, "/api/v1/labels/"+theirs, globex.AdminToken, nil).JSON()["name"])

	// Agents read; supervisors and admins write.
	_, agent := env.user(acme, crm.RoleAgent, "Agent")
	_, supervisor := env.user(acme, crm.RoleSupervisor, "Super")
	mine := env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "Mine"}).JSON()["id"].(string)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/labels", agent, nil).Status)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/labels/"+mine, agent, nil).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, "/api/v1/labels", agent, map[string]any{"name": "Nope"}).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodPatch, "/api/v1/labels/"+mine, agent, map[string]any{"name": "Nope"}).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodDelete, "/api/v1/labels/"+mine, agent, nil).Status)
	res := env.do(http.MethodPost, "/api/v1/labels", supervisor, map[string]any{"name": "By supervisor"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
}

func TestLabelPaginationAndAudit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	for i := range 11 {
		res := env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": fmt.Sprintf("label-%02d", i)})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}
	all := directoryWalk(t, env, "/api/v1/labels?limit=5", acme.AdminToken)
	require.Len(t, all, 11)
	seen := map[string]bool{}
	for _, item := range all {
		require.False(t, seen[item["id"].(string)])
		seen[item["id"].(string)] = true
	}
	require.Len(t, env.do(http.MethodGet, "/api/v1/labels?q=LABEL-1", acme.AdminToken, nil).Items(), 1)

	id := uuid.MustParse(all[0]["id"].(string))
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/labels/"+id.String(), acme.AdminToken, map[string]any{"color": "#000000"}).Status)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/labels/"+id.String(), acme.AdminToken, nil).Status)
	rows := directoryAudit(t, env, acme.ID, "label", id)
	require.Len(t, rows, 3)
	require.Equal(t, []string{"create", "update", "delete"}, []string{rows[0].Action, rows[1].Action, rows[2].Action})
	require.Contains(t, rows[1].Before, "#64748b")
	require.Contains(t, rows[1].After, "#000000")
	require.Equal(t, acme.AdminID, rows[1].ActorID)
}
