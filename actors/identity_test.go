package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm/actors"
	"crm/persistence/pgtest"
	crmpb "crm/proto"
)

// TestInboundEventWithABadInboxIDIsRefused: an inbox event id that is not a
// UUID is refused, not read as "no inbox row" (the message would be stored
// while its inbox row stayed pending, to be processed again by the sweeper).
func TestInboundEventWithABadInboxIDIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	_, node := startEngine(t, db, actors.EngineConfig{}, "badinbox")
	tenant, conn := seedTenant(t, db, "badinbox")
	contact, _, err := db.ResolveContact(ctx, tenant, "whatsapp", "5511900003333", "", "")
	require.NoError(t, err)
	resp, err := node.Request(ctx, actors.ConversationIdentity(tenant, conn, contact), actors.KindConversation, &crmpb.InboundEvent{
		Conversation: &crmpb.ConversationRef{TenantId: tenant.String(), ConnectionId: conn.String(), ContactId: contact.String()},
		InboxEventId: "not-a-uuid", Event: textEvent("5511900003333", "wamid.badinbox", "oi"), ReceivedAtUnixMs: time.Now().UnixMilli()})
	require.NoError(t, err)
	res, ok := resp.(*crmpb.InboundEventResult)
	require.True(t, ok, "answered %T", resp)
	require.Equal(t, "invalid_input", res.GetError().GetCode())
	require.False(t, res.GetError().GetRetryable())
	var stored int
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&stored)
	}))
	require.Zero(t, stored)
}

// TestGrainsWithABadIdentityDoNotStart: a connection or tenant grain whose
// identity does not name its tenant (and connection) stops at activation,
// as a conversation grain does, instead of running for the nil tenant: a
// request to it finds no one to answer.
func TestGrainsWithABadIdentityDoNotStart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	_, node := startEngine(t, db, actors.EngineConfig{}, "badidentity")
	for _, tc := range []struct {
		kind, identity string
		msg            any
	}{
		{actors.KindConnection, "not-a-tenant/not-a-connection", &crmpb.SendRequest{MessageId: "m"}},
		{actors.KindTenant, "not-a-tenant", &crmpb.MayI{Action: actors.ActionSend}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := node.Request(ctx, tc.identity, tc.kind, tc.msg)
		cancel()
		require.Error(t, err, "%s grain %q answered %v", tc.kind, tc.identity, resp)
	}
}
