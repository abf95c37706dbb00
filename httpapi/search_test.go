package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

// seedSearchConversation stores a conversation of a new contact in the
// tenant with the given inbound texts.
func seedSearchConversation(t *testing.T, env *testEnv, tenant tenantFixture, name, phone string, texts ...string) string {
	t.Helper()
	ctx := context.Background()
	contact := contactCreate(t, env, tenant.AdminToken, map[string]any{"name": name, "phone": phone})
	contactID := uuid.MustParse(contact["id"].(string))
	convID, connID := crm.NewID(), crm.NewID()
	require.NoError(t, env.db.TenantTx(ctx, tenant.ID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, $3, 'whatsapp', 'sandbox', 'vt', 'ws')`, tenant.ID, connID, "WA "+phone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel)
			VALUES ($1, $2, $3, $4, 'whatsapp')`, tenant.ID, convID, connID, contactID); err != nil {
			return err
		}
		for i, text := range texts {
			if _, err := tx.Exec(ctx, `INSERT INTO messages (tenant_id, id, conversation_id, connection_id, contact_id, seq,
				direction, type, text, status) VALUES ($1, $2, $3, $4, $5, $6, 'inbound', 'text', $7, 'received')`,
				tenant.ID, crm.NewID(), convID, connID, contactID, i+1, text); err != nil {
				return err
			}
		}
		return nil
	}))
	return convID.String()
}

// GET /api/v1/messages/search finds message text whatever its accents,
// answers with the conversation to open and the message's seq, and never
// crosses tenants.
func TestMessageSearchEndpoint(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme-search")
	other := env.tenant("other-search")
	_, agent := env.user(acme, crm.RoleAgent, "Bruno")
	conv := seedSearchConversation(t, env, acme, "João", "11987650021", "bom dia", "Minha encomenda não chegou em Goiânia")
	seedSearchConversation(t, env, other, "Zé", "11987650022", "A encomenda de goiania chegou")

	search := func(token, q string) response {
		t.Helper()
		return env.do(http.MethodGet, "/api/v1/messages/search?q="+url.QueryEscape(q), token, nil)
	}
	for _, token := range []string{acme.AdminToken, agent} { // the agent sees the unassigned queue
		res := search(token, "encomenda goiania")
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		items := res.Items()
		require.Len(t, items, 1, string(res.Body))
		msg := items[0]["message"].(map[string]any)
		require.Equal(t, "Minha encomenda não chegou em Goiânia", msg["text"])
		require.EqualValues(t, 2, msg["seq"])
		require.Equal(t, conv, items[0]["conversation"].(map[string]any)["id"])
		require.Equal(t, "João", items[0]["conversation"].(map[string]any)["contact"].(map[string]any)["name"])
	}
	res := search(other.AdminToken, "minha encomenda")
	require.Equal(t, http.StatusOK, res.Status)
	require.Empty(t, res.Items(), "the other tenant's message is not found")
	require.NotContains(t, string(res.Body), "Minha")

	res = search(acme.AdminToken, strings.Repeat("a", 201))
	require.Equal(t, http.StatusBadRequest, res.Status)
}
