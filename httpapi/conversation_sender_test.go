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

// The inbox list says who wrote the last outbound message (an agent by name,
// or the bot), not "you" for every one of them.
func TestConversationListNamesTheLastSender(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	brunoID, _ := env.user(acme, crm.RoleAgent, "Bruno")
	contact := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "Maria", "phone": "11987650001"})
	contactID := uuid.MustParse(contact["id"].(string))
	ctx := context.Background()
	convID, connID := crm.NewID(), crm.NewID()
	seq := int64(0)
	// addMessage stores one message and moves the conversation's last message to it, as the grain does.
	addMessage := func(direction, via string, sentBy *uuid.UUID) {
		t.Helper()
		seq++
		require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
			status := "sent"
			if direction == "inbound" {
				status = "received"
			}
			if _, err := tx.Exec(ctx, `INSERT INTO messages (tenant_id, id, conversation_id, connection_id, contact_id, seq,
				direction, type, text, status, sent_by, via) VALUES ($1, $2, $3, $4, $5, $6, $7, 'text', 'oi', $8, $9, $10)`,
				acme.ID, crm.NewID(), convID, connID, contactID, seq, direction, status, sentBy, via); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE conversations SET last_seq = $3, last_message_at = now(),
				last_message_preview = 'oi', last_message_direction = $4 WHERE tenant_id = $1 AND id = $2`,
				acme.ID, convID, seq, direction)
			return err
		}))
	}
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'WA', 'whatsapp', 'sandbox', 'vt', 'ws')`, acme.ID, connID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel)
			VALUES ($1, $2, $3, $4, 'whatsapp')`, acme.ID, convID, connID, contactID)
		return err
	}))
	listed := func() map[string]any {
		t.Helper()
		items := env.do(http.MethodGet, "/api/v1/conversations", acme.AdminToken, nil).Items()
		require.Len(t, items, 1)
		one := env.do(http.MethodGet, "/api/v1/conversations/"+convID.String(), acme.AdminToken, nil).JSON()
		require.Equal(t, items[0]["last_message_sender"], one["last_message_sender"], "list and get agree")
		return items[0]
	}

	addMessage("inbound", "", nil)
	conv := listed()
	require.Nil(t, conv["last_message_sender"], "the customer's message has no sender of ours")
	require.Equal(t, "inbound", conv["last_message_direction"])
	require.Equal(t, "oi", conv["last_message_preview"])

	addMessage("outbound", "agent", &brunoID)
	sender, _ := listed()["last_message_sender"].(map[string]any)
	require.NotNil(t, sender, "an agent's reply names the agent")
	require.Equal(t, brunoID.String(), sender["user_id"])
	require.Equal(t, "Bruno", sender["name"])
	require.Equal(t, "agent", sender["via"])

	addMessage("outbound", "bot", nil)
	sender, _ = listed()["last_message_sender"].(map[string]any)
	require.NotNil(t, sender, "the bot's message says it was the bot")
	require.Nil(t, sender["user_id"])
	require.Equal(t, "bot", sender["via"])

	addMessage("inbound", "", nil)
	require.Nil(t, listed()["last_message_sender"])
}
