package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// menuFlowBody is a valid flow: greet, ask a menu, hand off or end.
func menuFlowBody(name, greeting string) map[string]any {
	return map[string]any{
		"name": name, "description": "menu",
		"trigger": map[string]any{"on": "keyword", "keywords": []string{"menu"}, "connection_ids": []string{}},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": map[string]any{"x": 0, "y": 0}},
			{"id": "hello", "type": "message", "name": "Oi", "config": map[string]any{"text": greeting}, "position": map[string]any{"x": 0.1, "y": 100}},
			{"id": "menu", "type": "question", "name": "Menu", "config": map[string]any{"text": "Escolha", "answer_type": "option",
				"buttons": []map[string]any{{"id": "sales", "title": "Vendas"}, {"id": "support", "title": "Suporte"}}, "variable": "choice"},
				"position": map[string]any{"x": 0, "y": 200}},
			{"id": "queue", "type": "handoff", "name": "Fila", "config": map[string]any{"message": "Já te atendemos"}, "position": map[string]any{"x": 0, "y": 300}},
			{"id": "bye", "type": "end", "name": "Fim", "config": map[string]any{"resolve": true}, "position": map[string]any{"x": 200, "y": 300}},
		},
		"edges": []map[string]any{
			{"from": "start", "to": "hello", "handle": "next"}, {"from": "hello", "to": "menu", "handle": "next"},
			{"from": "menu", "to": "queue", "handle": "option:sales"}, {"from": "menu", "to": "bye", "handle": "next"},
			{"from": "menu", "to": "bye", "handle": "invalid"},
		},
	}
}

func createdID(t *testing.T, res response) string {
	t.Helper()
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON()["id"].(string)
}

func TestBotFlowLifecycle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	admin := acme.AdminToken

	// A new flow starts with a start node and is not published.
	res := env.do(http.MethodPost, "/api/v1/bot-flows", admin, map[string]any{"name": "Boas-vindas"})
	id := createdID(t, res)
	flow := res.JSON()
	require.Equal(t, false, flow["active"])
	require.Nil(t, flow["active_version"])
	require.Nil(t, flow["latest_version"])
	require.Equal(t, true, flow["has_unpublished_changes"])
	require.Equal(t, "first_message", flow["trigger"].(map[string]any)["on"])
	require.Len(t, flow["nodes"], 1)
	require.Equal(t, "start", flow["nodes"].([]any)[0].(map[string]any)["type"])
	require.Equal(t, []any{}, flow["edges"])

	// The name is unique per tenant.
	res = env.do(http.MethodPost, "/api/v1/bot-flows", admin, map[string]any{"name": "Boas-vindas"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))

	// The draft takes the whole graph.
	body := menuFlowBody("Menu", "Olá {{contact.name}}")
	delete(body, "name")
	res = env.do(http.MethodPatch, "/api/v1/bot-flows/"+id, admin, body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	flow = res.JSON()
	require.Len(t, flow["nodes"], 5)
	require.Len(t, flow["edges"], 5)
	require.Equal(t, "Boas-vindas", flow["name"], "absent fields stay")
	require.Equal(t, 0.1, flow["nodes"].([]any)[1].(map[string]any)["position"].(map[string]any)["x"], "positions as sent")
	require.Equal(t, "hello", flow["nodes"].([]any)[1].(map[string]any)["id"], "nodes in the order sent")

	// Publish: version 1 active.
	res = env.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/publish", admin, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	flow = res.JSON()
	require.Equal(t, true, flow["active"])
	require.Equal(t, 1.0, flow["active_version"])
	require.Equal(t, 1.0, flow["latest_version"])
	require.Equal(t, false, flow["has_unpublished_changes"])

	// Editing the draft leaves the active version as published.
	nodes := body["nodes"].([]map[string]any)
	nodes[1]["config"] = map[string]any{"text": "Mudou"}
	res = env.do(http.MethodPatch, "/api/v1/bot-flows/"+id, admin, map[string]any{"nodes": nodes})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	flow = res.JSON()
	require.Equal(t, true, flow["has_unpublished_changes"])
	require.Equal(t, 1.0, flow["active_version"])
	res = env.do(http.MethodGet, "/api/v1/bot-flows/"+id+"/export?version=1", admin, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Contains(t, string(res.Body), "Olá {{contact.name}}")
	require.NotContains(t, string(res.Body), "Mudou")
	versions, err := env.db.ActiveBotFlowVersions(context.Background(), acme.ID)
	require.NoError(t, err)
	require.Len(t, versions, 1)
	require.Equal(t, 1, versions[0].Version)
	require.Contains(t, string(versions[0].Definition.Nodes[1].Config), "Olá")

	// A published version cannot be changed, even by a direct UPDATE.
	err = env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE bot_flow_versions SET definition = '{}'`)
		return err
	})
	require.ErrorContains(t, err, "immutable")

	// Publishing the edit makes version 2; publishing again without a change does not make a 3rd.
	res = env.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/publish", admin, nil)
	require.Equal(t, 2.0, res.JSON()["active_version"], string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/publish", admin, nil)
	require.Equal(t, 2.0, res.JSON()["active_version"], string(res.Body))
	require.Equal(t, 2.0, res.JSON()["latest_version"])

	// Unpublish: nothing active, the versions stay.
	res = env.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/unpublish", admin, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, false, res.JSON()["active"])
	require.Nil(t, res.JSON()["active_version"])
	require.Equal(t, 2.0, res.JSON()["latest_version"])
	versions, err = env.db.ActiveBotFlowVersions(context.Background(), acme.ID)
	require.NoError(t, err)
	require.Empty(t, versions)

	// The list pages by name and carries no graph.
	createdID(t, env.do(http.MethodPost, "/api/v1/bot-flows", admin, map[string]any{"name": "Atendimento"}))
	res = env.do(http.MethodGet, "/api/v1/bot-flows?limit=1", admin, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	page := res.JSON()
	require.Len(t, page["items"], 1)
	first := page["items"].([]any)[0].(map[string]any)
	require.Equal(t, "Atendimento", first["name"])
	require.NotContains(t, first, "nodes")
	require.Equal(t, map[string]any{"started": 0.0, "completed": 0.0, "handed_off": 0.0}, first["stats"])
	res = env.do(http.MethodGet, "/api/v1/bot-flows?limit=1&cursor="+page["next_cursor"].(string), admin, nil)
	require.Equal(t, "Boas-vindas", res.Items()[0]["name"])
	require.Equal(t, 5.0, res.Items()[0]["node_count"])
	require.Nil(t, res.JSON()["next_cursor"])

	// Delete takes the versions with it.
	res = env.do(http.MethodDelete, "/api/v1/bot-flows/"+id, admin, nil)
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	res = env.do(http.MethodGet, "/api/v1/bot-flows/"+id, admin, nil)
	require.Equal(t, http.StatusNotFound, res.Status)
}

func TestBotFlowValidationErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.tenant("acme").AdminToken

	// A draft that cannot be stored: 400 with the paths.
	body := menuFlowBody("Broken", "Oi")
	body["nodes"].([]map[string]any)[4]["type"] = "goto"
	body["edges"] = append(body["edges"].([]map[string]any), map[string]any{"from": "hello", "to": "nowhere", "handle": "next"})
	res := env.do(http.MethodPost, "/api/v1/bot-flows", admin, body)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Equal(t, "validation_failed", res.ErrorCode())
	fields := res.JSON()["error"].(map[string]any)["details"].(map[string]any)["fields"].(map[string]any)
	require.Contains(t, fields, "nodes[4].type")
	require.Contains(t, fields, "edges[5].to")

	// A draft that is stored but cannot run: publish answers 422 naming the nodes.
	body = menuFlowBody("Incomplete", "Oi {{var.bad name}}")
	nodes := body["nodes"].([]map[string]any)
	nodes[2]["config"].(map[string]any)["buttons"] = []map[string]any{{"id": "a", "title": "A"}, {"id": "b", "title": "B"},
		{"id": "c", "title": "C"}, {"id": "d", "title": "D"}}
	body["edges"] = body["edges"].([]map[string]any)[:2] // the menu leads nowhere
	id := createdID(t, env.do(http.MethodPost, "/api/v1/bot-flows", admin, body))
	res = env.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/publish", admin, nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	require.Equal(t, "flow_invalid", res.ErrorCode())
	var answer struct {
		Error struct {
			Details struct {
				Fields     map[string]string `json:"fields"`
				NodeErrors []struct {
					NodeID  string `json:"node_id"`
					Index   int    `json:"index"`
					Field   string `json:"field"`
					Message string `json:"message"`
				} `json:"node_errors"`
			} `json:"details"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &answer))
	details := answer.Error.Details
	require.Equal(t, "at most 3 buttons", details.Fields["nodes[2].config.buttons"])
	require.Contains(t, details.Fields, "nodes[1].config.text")
	require.Contains(t, details.Fields, "nodes[2].handles.next")
	require.Contains(t, details.Fields, "nodes[2].handles.invalid")
	require.Contains(t, details.Fields, "nodes[3]", "the handoff is unreachable")
	marked := map[string][]string{}
	for _, e := range details.NodeErrors {
		marked[e.NodeID] = append(marked[e.NodeID], e.Field)
	}
	require.Equal(t, []string{"config.text"}, marked["hello"])
	require.ElementsMatch(t, []string{"config.buttons", "handles.invalid", "handles.next"}, marked["menu"])
	require.Equal(t, []string{""}, marked["queue"])
	require.Equal(t, []string{""}, marked["bye"])

	res = env.do(http.MethodGet, "/api/v1/bot-flows/"+id, admin, nil)
	require.Equal(t, false, res.JSON()["active"], "nothing was published")
	require.Nil(t, res.JSON()["latest_version"])
}

func TestBotFlowExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.tenant("acme").AdminToken
	id := createdID(t, env.do(http.MethodPost, "/api/v1/bot-flows", admin, menuFlowBody("Menu", "Olá")))

	res := env.do(http.MethodGet, "/api/v1/bot-flows/"+id+"/export", admin, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	exported := res.Body

	res = env.do(http.MethodPost, "/api/v1/bot-flows/import", admin, exported)
	copyID := createdID(t, res)
	require.Equal(t, "Menu (2)", res.JSON()["name"], "a taken name gets a suffix")
	require.Equal(t, false, res.JSON()["active"])
	res = env.do(http.MethodPost, "/api/v1/bot-flows/import", admin, exported)
	require.Equal(t, "Menu (3)", res.JSON()["name"])

	res = env.do(http.MethodGet, "/api/v1/bot-flows/"+copyID+"/export", admin, nil)
	var a, b map[string]any
	require.NoError(t, json.Unmarshal(exported, &a))
	require.NoError(t, json.Unmarshal(res.Body, &b))
	b["name"] = a["name"]
	require.Equal(t, a, b, "the copy is the same flow")
	res = env.do(http.MethodPost, "/api/v1/bot-flows/"+copyID+"/publish", admin, nil)
	require.Equal(t, http.StatusOK, res.Status, "the imported flow publishes: %s", res.Body)

	// An import is decoded strictly.
	res = env.do(http.MethodPost, "/api/v1/bot-flows/import", admin, `{"name": "X", "nodez": []}`)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
}

func TestBotFlowPlanGateRolesAndTenants(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	acme := env.tenant("acme")
	other := env.tenant("other")
	_, agent := env.user(acme, crm.RoleAgent, "Agent")
	_, supervisor := env.user(acme, crm.RoleSupervisor, "Sup")
	id := createdID(t, env.do(http.MethodPost, "/api/v1/bot-flows", acme.AdminToken, menuFlowBody("Menu", "Olá")))

	// Supervisors build flows; agents only read them.
	createdID(t, env.do(http.MethodPost, "/api/v1/bot-flows", supervisor, menuFlowBody("Sup", "Olá")))
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/bot-flows/"+id, agent, nil).Status)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/bot-flows/"+id+"/export", agent, nil).Status)
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/bot-flows"}, {http.MethodPatch, "/api/v1/bot-flows/" + id},
		{http.MethodPost, "/api/v1/bot-flows/" + id + "/publish"}, {http.MethodDelete, "/api/v1/bot-flows/" + id},
	} {
		res := env.do(r.method, r.path, agent, map[string]any{"name": "x"})
		require.Equal(t, http.StatusForbidden, res.Status, "%s %s: %s", r.method, r.path, res.Body)
	}

	// Another tenant's flow does not exist for this one.
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/bot-flows/" + id}, {http.MethodPatch, "/api/v1/bot-flows/" + id},
		{http.MethodPost, "/api/v1/bot-flows/" + id + "/publish"}, {http.MethodGet, "/api/v1/bot-flows/" + id + "/export"},
		{http.MethodDelete, "/api/v1/bot-flows/" + id},
	} {
		res := env.do(r.method, r.path, other.AdminToken, map[string]any{"description": "x"})
		require.Equal(t, http.StatusNotFound, res.Status, "%s %s: %s", r.method, r.path, res.Body)
	}
	require.Empty(t, env.do(http.MethodGet, "/api/v1/bot-flows", other.AdminToken, nil).Items())

	// A plan without the chatbot: 402 on the whole module.
	planID, err := env.db.CreatePlan(ctx, persistence.NewPlan{Name: "no-bot", MonthlyPrice: "9.90",
		Limits: planLimitsGenerous, Features: crm.PlanFeatures{}})
	require.NoError(t, err)
	hash, err := crm.HashPassword(testPassword)
	require.NoError(t, err)
	_, _, err = env.db.CreateTenant(ctx, persistence.NewTenant{Name: "Basic", Slug: "basic", Email: "admin@basic.test",
		PlanID: planID, AdminName: "Admin", AdminEmail: "admin@basic.test", AdminPasswordHash: hash})
	require.NoError(t, err)
	basic := env.login("admin@basic.test", testPassword)
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/bot-flows"}, {http.MethodPost, "/api/v1/bot-flows"}, {http.MethodPost, "/api/v1/bot-flows/import"},
		{http.MethodGet, "/api/v1/bot-flows/" + id}, {http.MethodPost, "/api/v1/bot-flows/" + id + "/publish"},
	} {
		res := env.do(r.method, r.path, basic, menuFlowBody("Menu", "Olá"))
		require.Equal(t, http.StatusPaymentRequired, res.Status, "%s %s: %s", r.method, r.path, res.Body)
		require.Equal(t, "feature_disabled", res.ErrorCode())
	}
}
