package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

// TestDirectoryChangesReachEveryConsole: every change to a contact, label or
// quick reply appends a tenant event in its own transaction (none for a
// change refused or one that changed nothing) and reaches every open
// console live, an agent's too (issue 23, item 2: a contact renamed in one
// console stayed under its old name in the others' lists and headers, a
// quick reply created in another tab did not appear on "/").
func TestDirectoryChangesReachEveryConsole(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	admin := env.tenant.AdminToken
	_, agentToken := env.user(env.tenant, crm.RoleAgent, "Ana")
	agent := env.mustDialWS(agentToken)
	require.Eventually(t, func() bool { return env.gateway().Sessions() == 1 }, 5*time.Second, 10*time.Millisecond)

	// expect reads the agent's next frame of typ and answers its data, and
	// checks the same event is stored with the frame's seq.
	expect := func(typ string) map[string]any {
		t.Helper()
		f := agent.nextOf(typ, 5*time.Second)
		var stored string
		require.NoError(t, env.db.TenantTx(context.Background(), env.tenant.ID, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT type FROM tenant_events WHERE seq = $1`, f.Seq).Scan(&stored)
		}))
		require.Equal(t, typ, stored, "the frame is the stored event")
		var data map[string]any
		require.NoError(t, json.Unmarshal(f.Data, &data))
		return data
	}
	do := func(method, path string, body any, status int) string {
		t.Helper()
		res := env.do(method, path, admin, body)
		require.Equal(t, status, res.Status, "%s %s: %s", method, path, res.Body)
		if status == http.StatusCreated {
			return res.JSON()["id"].(string)
		}
		return ""
	}
	events := func() int {
		var n int
		require.NoError(t, env.db.TenantTx(context.Background(), env.tenant.ID, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT count(*) FROM tenant_events`).Scan(&n)
		}))
		return n
	}

	// A contact who wrote, renamed by the admin: the agent's console hears the new name.
	conv := env.openConversation("5511977770000", "Maria", "wamid.dir.1", "Oi")
	contactID := conv["contact_id"].(string)
	do(http.MethodPatch, "/api/v1/contacts/"+contactID, map[string]any{"name": "Maria Souza"}, http.StatusOK)
	data := expect("contact.updated")
	require.Equal(t, contactID, data["id"])
	require.Equal(t, "Maria Souza", data["name"])
	require.Equal(t, "+5511977770000", data["phone"])

	created := do(http.MethodPost, "/api/v1/contacts", map[string]any{"name": "Novo"}, http.StatusCreated)
	require.Equal(t, created, expect("contact.created")["id"])
	do(http.MethodDelete, "/api/v1/contacts/"+created, nil, http.StatusNoContent)
	require.Equal(t, map[string]any{"id": created}, expect("contact.deleted"))

	label := do(http.MethodPost, "/api/v1/labels", map[string]any{"name": "VIP", "color": "#00a884"}, http.StatusCreated)
	require.Equal(t, "VIP", expect("label.created")["name"])
	do(http.MethodPatch, "/api/v1/labels/"+label, map[string]any{"name": "Cliente VIP"}, http.StatusOK)
	require.Equal(t, "Cliente VIP", expect("label.updated")["name"])
	do(http.MethodDelete, "/api/v1/labels/"+label, nil, http.StatusNoContent)
	require.Equal(t, label, expect("label.deleted")["id"])

	reply := do(http.MethodPost, "/api/v1/quick-replies", map[string]any{"shortcut": "oi", "title": "Saudação", "text": "Olá!"}, http.StatusCreated)
	require.Equal(t, "oi", expect("quick_reply.created")["shortcut"])
	do(http.MethodPatch, "/api/v1/quick-replies/"+reply, map[string]any{"text": "Olá, tudo bem?"}, http.StatusOK)
	require.Equal(t, "Olá, tudo bem?", expect("quick_reply.updated")["text"])
	do(http.MethodDelete, "/api/v1/quick-replies/"+reply, nil, http.StatusNoContent)
	require.Equal(t, reply, expect("quick_reply.deleted")["id"])

	// Refused changes and changes of nothing append no event.
	before := events()
	do(http.MethodPost, "/api/v1/quick-replies", map[string]any{"shortcut": "tchau", "title": "Tchau", "text": "Até logo"}, http.StatusCreated)
	do(http.MethodPost, "/api/v1/quick-replies", map[string]any{"shortcut": "tchau", "title": "Outra", "text": "?"}, http.StatusConflict)
	do(http.MethodPatch, "/api/v1/contacts/"+contactID, map[string]any{}, http.StatusOK)
	require.Equal(t, before+1, events(), "only the quick reply that was created")
}
