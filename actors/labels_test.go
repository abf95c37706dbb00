package actors_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestLabelChangesReachTheNextMessage: the conversation grain caches its
// conversation, labels included, and every message.created carries that
// copy to the consoles. Labels set through the API, and a label deleted
// (which takes it off its conversations), must show in the next message's
// event, not the labels the grain held before.
func TestLabelChangesReachTheNextMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant, connection := seedTenant(t, db, "labels")
	e, _ := startEngine(t, db, actors.EngineConfig{}, "labels")
	const waID = "5511987650001"
	deliver := func(id string) {
		t.Helper()
		require.NoError(t, e.Process(ctx, actors.InboxItem{InboxID: crm.NewID(), TenantID: tenant, ConnectionID: connection,
			Event: textEvent(waID, id, id)}))
	}
	lastEvent := func(typ string) (conversationID uuid.UUID, labels []uuid.UUID) {
		t.Helper()
		var payload []byte
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT conversation_id, payload FROM tenant_events WHERE type = $1 ORDER BY seq DESC LIMIT 1`,
				typ).Scan(&conversationID, &payload)
		}))
		var data struct {
			LabelIDs     []uuid.UUID `json:"label_ids"`
			Conversation *struct {
				LabelIDs []uuid.UUID `json:"label_ids"`
			} `json:"conversation"`
		}
		require.NoError(t, json.Unmarshal(payload, &data))
		if data.Conversation != nil {
			return conversationID, data.Conversation.LabelIDs
		}
		return conversationID, data.LabelIDs
	}
	newLabel := func(name string) uuid.UUID {
		t.Helper()
		l, _, err := db.CreateLabel(ctx, tenant, persistence.AuditEntry{}, persistence.NewLabel{Name: name})
		require.NoError(t, err)
		return l.ID
	}

	deliver("wamid.labels.1") // the grain now holds the conversation, without labels
	convID, labels := lastEvent("message.created")
	require.Empty(t, labels)
	conv, err := db.GetConversation(ctx, tenant, convID, crm.Visibility{All: true})
	require.NoError(t, err)

	vip, lead := newLabel("vip"), newLabel("lead")
	want := []uuid.UUID{vip, lead}
	if vip.String() > lead.String() {
		want = []uuid.UUID{lead, vip} // the order stored labels are read in
	}
	require.NoError(t, e.SetLabels(ctx, crm.Principal{}, conv, []uuid.UUID{lead, vip, lead}))
	_, labels = lastEvent("conversation.updated")
	require.Equal(t, want, labels, "the change is announced")

	deliver("wamid.labels.2")
	_, labels = lastEvent("message.created")
	require.Equal(t, want, labels, "the next message carries the labels just set")

	_, err = db.DeleteLabel(ctx, tenant, lead, persistence.AuditEntry{})
	require.NoError(t, err)
	deliver("wamid.labels.3")
	_, labels = lastEvent("message.created")
	require.Equal(t, []uuid.UUID{vip}, labels, "a deleted label leaves the next message's conversation")

	stored, err := db.GetConversation(ctx, tenant, convID, crm.Visibility{All: true})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{vip}, stored.LabelIDs)
	require.EqualValues(t, 3, stored.LastSeq, "each message stored once")
}

// TestLabelsOfAnArchivedConversation: the grain of a contact keeps only the
// live conversation; labelling an older, archived one changes that one and
// leaves the live one (and what its messages carry) alone.
func TestLabelsOfAnArchivedConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant, connection := seedTenant(t, db, "archived")
	e, _ := startEngine(t, db, actors.EngineConfig{}, "archived")
	const waID = "5511987650002"
	deliver := func(id string) *crm.Conversation {
		t.Helper()
		require.NoError(t, e.Process(ctx, actors.InboxItem{InboxID: crm.NewID(), TenantID: tenant, ConnectionID: connection,
			Event: textEvent(waID, id, id)}))
		var convID uuid.UUID
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT conversation_id FROM messages WHERE external_id = $1`, id).Scan(&convID)
		}))
		conv, err := db.GetConversation(ctx, tenant, convID, crm.Visibility{All: true})
		require.NoError(t, err)
		return conv
	}
	old := deliver("wamid.archived.1")
	_, err := e.ChangeStatus(ctx, crm.Principal{}, old, "archived")
	require.NoError(t, err)
	live := deliver("wamid.archived.2")
	require.NotEqual(t, old.ID, live.ID, "archived is terminal: the next message opens a new conversation")

	l, _, err := db.CreateLabel(ctx, tenant, persistence.AuditEntry{}, persistence.NewLabel{Name: "old"})
	require.NoError(t, err)
	require.NoError(t, e.SetLabels(ctx, crm.Principal{}, old, []uuid.UUID{l.ID}))

	old, err = db.GetConversation(ctx, tenant, old.ID, crm.Visibility{All: true})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{l.ID}, old.LabelIDs)
	require.Equal(t, crm.ConversationArchived, old.Status)
	live = deliver("wamid.archived.3")
	require.Empty(t, live.LabelIDs, "the live conversation keeps its own labels")
	require.EqualValues(t, 2, live.LastSeq)
}
