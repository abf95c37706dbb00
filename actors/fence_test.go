package actors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/persistence"
	"crm/persistence/pgtest"
	crmpb "crm/proto"
)

// TestDuplicateActivationCannotWriteTwice forces what disthash allows during
// a membership change: two live activations of one conversation, here on two
// separate clusters sharing the database. Events alternate between them; the
// stale one is fenced each time (its cached version is behind), stops, and
// the retry runs on a fresh activation. No seq is used twice, none is lost.
func TestDuplicateActivationCannotWriteTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant, connection := seedTenantAndConnection(t, db)

	var engines []*actors.Engine
	for i := 0; i < 2; i++ {
		e, _ := startEngine(t, db, actors.EngineConfig{}, fmt.Sprint("split-", i)) // two clusters: each owns every identity
		engines = append(engines, e)
	}

	const n = 20
	for i := 0; i < n; i++ {
		ev := &crmpb.ChannelEvent{Provider: "meta", Channel: crmpb.Channel_CHANNEL_WHATSAPP, DedupeKey: fmt.Sprintf("wamid.f.%d", i),
			TimestampMs: time.Now().UnixMilli(),
			Event: &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
				Contact: &crmpb.ContactProfile{WaId: "5511987654321", Name: "Maria"},
				Message: &crmpb.Message{ExternalId: fmt.Sprintf("wamid.f.%d", i), Type: crmpb.MessageType_MESSAGE_TYPE_TEXT, Text: fmt.Sprint(i)},
			}}}
		item := actors.InboxItem{InboxID: crm.NewID(), TenantID: tenant, ConnectionID: connection, Event: ev}
		require.NoError(t, engines[i%2].Process(ctx, item), "event %d", i)
	}

	var seqs []int64
	var lastSeq, version int64
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq FROM messages ORDER BY seq`)
		if err != nil {
			return err
		}
		seqs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT last_seq, version FROM conversations`).Scan(&lastSeq, &version)
	}))
	require.Len(t, seqs, n, "every event stored once")
	for i, s := range seqs {
		require.EqualValues(t, i+1, s, "seq %d used once, none skipped", i+1)
	}
	require.EqualValues(t, n, lastSeq)
	require.EqualValues(t, n, version, "one fenced write per event")
}

func seedTenantAndConnection(t *testing.T, db *persistence.DB) (uuid.UUID, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	planID, err := db.CreatePlan(ctx, persistence.NewPlan{Name: "fence", Limits: crm.PlanLimits{Users: 10, Connections: 10,
		Contacts: 100, MonthlyConversations: 100}})
	require.NoError(t, err)
	tenant, _, err := db.CreateTenant(ctx, persistence.NewTenant{Name: "Fence", Slug: "fence", Email: "f@f.test", PlanID: planID,
		AdminName: "A", AdminEmail: "a@f.test", AdminPasswordHash: "x"})
	require.NoError(t, err)
	connection := crm.NewID()
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'wa', 'whatsapp', 'meta', 'v', 's')`, tenant, connection)
		return err
	}))
	return tenant, connection
}
