package persistence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// seedConversations makes tenants, each with one connection and perTenant
// contacts with a conversation each, on the platform path.
func seedConversations(tb testing.TB, db *persistence.DB, tenants, perTenant int) []*crm.Conversation {
	tb.Helper()
	ctx := context.Background()
	var convs []*crm.Conversation
	require.NoError(tb, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		planID := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO plans (id, name) VALUES ($1, 'batch')`, planID); err != nil {
			return err
		}
		for i := 0; i < tenants; i++ {
			tenant, conn := crm.NewID(), crm.NewID()
			if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, slug, email, plan_id) VALUES ($1, 't', $2, 't@t', $3)`,
				tenant, fmt.Sprint("batch-", i), planID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
				VALUES ($1, $2, 'wa', 'whatsapp', 'sandbox', 'v', 's')`, tenant, conn); err != nil {
				return err
			}
			for j := 0; j < perTenant; j++ {
				contact := crm.NewID()
				if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name) VALUES ($1, $2, 'c')`, tenant, contact); err != nil {
					return err
				}
				c := &crm.Conversation{TenantID: tenant, ConnectionID: conn, ContactID: contact, Channel: "whatsapp", Status: "open"}
				if err := persistence.InsertConversation(ctx, tx, c); err != nil {
					return err
				}
				convs = append(convs, c)
			}
		}
		return nil
	}))
	return convs
}

func inboundWrite(c *crm.Conversation, text string) *persistence.InboundWrite {
	now := time.Now().UTC()
	c.LastSeq++
	c.UnreadCount++
	c.LastMessageAt, c.LastActivityAt, c.LastMessagePreview, c.LastMessageDirection = &now, now, text, "inbound"
	ext := fmt.Sprintf("wamid.%s", crm.NewID())
	m := &crm.Message{TenantID: c.TenantID, ConnectionID: c.ConnectionID, ContactID: c.ContactID, Seq: c.LastSeq,
		Direction: "inbound", Type: "text", Text: text, Status: "received", ExternalID: &ext, CreatedAt: now}
	return &persistence.InboundWrite{Conv: c, Message: m, Events: func() ([]crm.TenantEvent, error) {
		payload, err := json.Marshal(m)
		id := c.ID
		return []crm.TenantEvent{{Type: "message.created", ConversationID: &id, Payload: payload}}, err
	}}
}

// TestWriteInboundFencesOnlyTheStaleConversation: a batch holding one
// conversation saved meanwhile elsewhere names that write fenced and stores
// the others, run again without it: at the versions they were read at (the
// first try's rolled-back updates do not count), with their events.
func TestWriteInboundFencesOnlyTheStaleConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	convs := seedConversations(t, db, 2, 2)
	stale := *convs[1]
	stale.Version-- // another activation saved it since this copy was read
	writes := []*persistence.InboundWrite{inboundWrite(convs[0], "a"), inboundWrite(&stale, "b"), inboundWrite(convs[2], "c")}
	err := db.WriteInbound(ctx, writes)
	var be *persistence.InboundBatchError
	require.ErrorAs(t, err, &be)
	require.ErrorIs(t, be.ErrOf(writes[1]), persistence.ErrFenced)
	require.NoError(t, be.ErrOf(writes[0]))
	require.NoError(t, be.ErrOf(writes[2]))
	require.EqualValues(t, 2, writes[0].Conv.Version, "saved once, from version 1")
	require.EqualValues(t, 2, writes[2].Conv.Version)
	var texts []string
	var events int
	require.NoError(t, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT text FROM messages ORDER BY text`)
		if err != nil {
			return err
		}
		if texts, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM tenant_events`).Scan(&events)
	}))
	require.Equal(t, []string{"a", "c"}, texts, "the fenced write stored nothing")
	require.Equal(t, 2, events)
	require.NotEmpty(t, writes[0].Stored)
	require.Nil(t, writes[1].Stored)
	// Each tenant's sequence has no gap from the rolled-back first try
	// (DESIGN §5.4): the first event of each is seq 1.
	require.EqualValues(t, 1, writes[0].Stored[0].Seq)
	require.EqualValues(t, 1, writes[2].Stored[0].Seq)
}

// TestWriteInboundRedeliveredMessageLeavesTheBatch: a message stored
// already (a provider's redelivery, stored in the inbox again after the
// first was processed) is named a duplicate, for the one-event path to find;
// the rest of its batch is stored, once.
func TestWriteInboundRedeliveredMessageLeavesTheBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	convs := seedConversations(t, db, 2, 3)
	first := inboundWrite(convs[0], "first")
	require.NoError(t, db.WriteInbound(ctx, []*persistence.InboundWrite{first}))
	again := inboundWrite(convs[0], "again")
	again.Message.ExternalID = first.Message.ExternalID
	writes := []*persistence.InboundWrite{inboundWrite(convs[1], "x"), again, inboundWrite(convs[4], "y")}
	err := db.WriteInbound(ctx, writes)
	var be *persistence.InboundBatchError
	require.ErrorAs(t, err, &be)
	require.True(t, be.Duplicates[again])
	require.ErrorIs(t, be.ErrOf(again), persistence.ErrBatchFailed)
	require.NoError(t, be.ErrOf(writes[0]))
	require.NoError(t, be.ErrOf(writes[2]))
	var messages, events int
	require.NoError(t, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM tenant_events)`).Scan(&messages, &events)
	}))
	require.Equal(t, 3, messages, "first, x and y; the redelivery not again")
	require.Equal(t, 3, events)
}

// BenchmarkWriteInbound: batches of 50 inbound messages to existing
// conversations spread over 100 tenants, the engine's group commit.
func BenchmarkWriteInbound(b *testing.B) {
	ctx := context.Background()
	db := pgtest.NewDB(b)
	convs := seedConversations(b, db, 100, 20)
	const batch = 50
	b.ResetTimer()
	next := 0
	for i := 0; i < b.N; i++ {
		writes := make([]*persistence.InboundWrite, batch)
		for j := range writes {
			writes[j] = inboundWrite(convs[next%len(convs)], "olá")
			next += 41 // spread over tenants, distinct within a batch
		}
		if err := db.WriteInbound(ctx, writes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkWriteInboundNewConversations: batches of 50 first messages, each
// opening a conversation (usage counting and plan limits included), spread
// over 20 tenants.
func BenchmarkWriteInboundNewConversations(b *testing.B) {
	ctx := context.Background()
	db := pgtest.NewDB(b)
	seeds := seedConversations(b, db, 20, 1) // tenants and connections
	const batch = 50
	newWrites := func() []*persistence.InboundWrite {
		writes := make([]*persistence.InboundWrite, batch)
		for j := range writes {
			s := seeds[j%len(seeds)]
			contact := crm.NewID()
			require.NoError(b, db.TenantTx(ctx, s.TenantID, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name) VALUES ($1, $2, 'c')`, s.TenantID, contact)
				return err
			}))
			c := &crm.Conversation{TenantID: s.TenantID, ConnectionID: s.ConnectionID, ContactID: contact, Channel: "whatsapp", Status: "open"}
			writes[j] = inboundWrite(c, "oi")
			writes[j].IsNew = true
		}
		return writes
	}
	// One batch first: the first statements of a connection are planned
	// and cached, which the steady state does not pay.
	require.NoError(b, db.WriteInbound(ctx, newWrites()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		writes := newWrites()
		b.StartTimer()
		if err := db.WriteInbound(ctx, writes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "writes/s")
}

// TestWriteInboundCountsNewConversationsPerStatement: the engine's batch
// opens conversations of two tenants in one statement; the one with a plan
// limit gets exactly its rows past the limit flagged over_limit (the last
// ones, in id order), in the stored rows and in what the grains are handed
// back, its month counted and warned; the other tenant's, well within its
// plan, are not.
func TestWriteInboundCountsNewConversationsPerStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	limited := tenantOn(t, db, planWith(t, db, crm.PlanLimits{Users: 5, Connections: 5, Contacts: 100,
		MonthlyConversations: 3, MonthlyCampaigns: 1}))
	open := tenantOn(t, db, planWith(t, db, crm.PlanLimits{Users: 5, Connections: 5, Contacts: 100,
		MonthlyConversations: 1000, MonthlyCampaigns: 1}))
	newConv := func(tenant, conn uuid.UUID) *crm.Conversation {
		contact := crm.NewID()
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id) VALUES ($1, $2)`, tenant, contact)
			return err
		}))
		return &crm.Conversation{ID: crm.NewID(), TenantID: tenant, ConnectionID: conn, ContactID: contact, Channel: "whatsapp", Status: "open"}
	}
	limitedConn, err := insertConnection(ctx, db, limited)
	require.NoError(t, err)
	openConn, err := insertConnection(ctx, db, open)
	require.NoError(t, err)
	// Two of the limited tenant's three this month are used already.
	for i := 0; i < 2; i++ {
		c := newConv(limited, limitedConn)
		require.NoError(t, db.TenantTx(ctx, limited, func(tx pgx.Tx) error { return persistence.InsertConversation(ctx, tx, c) }))
		require.False(t, c.OverLimit)
	}
	var writes []*persistence.InboundWrite
	for i := 0; i < 3; i++ {
		for _, tc := range [][2]uuid.UUID{{limited, limitedConn}, {open, openConn}} {
			w := inboundWrite(newConv(tc[0], tc[1]), "oi")
			w.IsNew = true
			writes = append(writes, w)
		}
	}
	require.NoError(t, db.WriteInbound(ctx, writes))

	got := map[uuid.UUID]bool{}
	require.NoError(t, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, over_limit FROM conversations`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var over bool
			if err := rows.Scan(&id, &over); err != nil {
				return err
			}
			got[id] = over
		}
		return rows.Err()
	}))
	var flagged []int
	for i, w := range writes {
		require.Equal(t, got[w.Conv.ID], w.Conv.OverLimit, "write %d: handed back as stored", i)
		if w.Conv.OverLimit {
			require.Equal(t, limited, w.Conv.TenantID, "write %d: a tenant within its plan is never over", i)
			flagged = append(flagged, i)
		}
	}
	// The limited tenant's writes are 0, 2 and 4 (ids in that order): 2 + 3
	// = 5 conversations against 3, so the last two are past the limit.
	require.Equal(t, []int{2, 4}, flagged)
	tenant, err := db.GetTenant(ctx, limited)
	require.NoError(t, err)
	require.Equal(t, 5, tenant.Usage.MonthlyConversations)
	require.NotNil(t, tenant.Usage.Warned80At)
	require.NotNil(t, tenant.Usage.Warned100At)
	other, err := db.GetTenant(ctx, open)
	require.NoError(t, err)
	require.Equal(t, 3, other.Usage.MonthlyConversations)
	require.Nil(t, other.Usage.Warned80At)
}
