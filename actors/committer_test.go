package actors_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"crm"
	"crm/actors"
	"crm/cluster"
	"crm/persistence"
	"crm/persistence/pgtest"
	crmpb "crm/proto"
)

// TestGroupCommitStoresManyConversationsTogether drives many conversations
// of two tenants at once, so their grains' writes share transactions. Every
// message is stored once with its conversation's next seq, replies resolve
// (within one batch too), a redelivered event stays one message, every inbox
// row is marked, each tenant's event sequence is gap-free, and the writes
// did go through shared transactions, none falling back.
func TestGroupCommitStoresManyConversationsTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	e, _ := startEngine(t, db, actors.EngineConfig{Registry: reg, CommitDelay: 5 * time.Millisecond}, "commit")

	inbox := persistence.NewInboxWriter(db, persistence.InboxConfig{}, nil)
	t.Cleanup(inbox.Close)

	const contacts, perContact = 40, 5
	type tenantConn struct{ tenant, conn uuid.UUID }
	var tcs []tenantConn
	for i := 0; i < 2; i++ {
		tenant, conn := seedTenant(t, db, fmt.Sprintf("commit%d", i))
		tcs = append(tcs, tenantConn{tenant, conn})
	}
	event := func(tc tenantConn, contact, i int) actors.InboxItem {
		id := fmt.Sprintf("wamid.%s.%d.%d", tc.conn, contact, i)
		msg := &crmpb.Message{ExternalId: id, Type: crmpb.MessageType_MESSAGE_TYPE_TEXT, Text: fmt.Sprint(i)}
		if i > 0 {
			msg.ReplyTo = &crmpb.ReplyContext{ExternalId: fmt.Sprintf("wamid.%s.%d.%d", tc.conn, contact, i-1)}
		}
		ev := &crmpb.ChannelEvent{Provider: "meta", Channel: crmpb.Channel_CHANNEL_WHATSAPP, DedupeKey: id, TimestampMs: time.Now().UnixMilli(),
			Event: &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
				Contact: &crmpb.ContactProfile{WaId: fmt.Sprintf("55119%08d", contact), Name: fmt.Sprint("C", contact)},
				Message: msg,
			}}}
		payload, err := proto.Marshal(ev)
		require.NoError(t, err)
		receipts, err := inbox.Append(ctx, []persistence.InboxEvent{{TenantID: tc.tenant, ConnectionID: tc.conn, Provider: "meta",
			DedupeKey: id, Event: payload}})
		require.NoError(t, err)
		return actors.InboxItem{InboxID: receipts[0].ID, TenantID: tc.tenant, ConnectionID: tc.conn, Event: ev, ReceivedAt: time.Now()}
	}

	var redelivered actors.InboxItem
	var wg sync.WaitGroup
	errs := make(chan error, len(tcs)*contacts*perContact)
	for _, tc := range tcs {
		for c := 0; c < contacts; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perContact; i++ {
					item := event(tc, c, i)
					if err := e.Process(ctx, item); err != nil {
						errs <- err
					}
					if c == 0 && i == 2 && tc == tcs[0] {
						redelivered = item
						// Asked again (a cluster request retried after its
						// first attempt timed out): answered from the grain.
						if err := e.Process(ctx, item); err != nil {
							errs <- err
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Redelivered to a grain that does not remember it (another node's,
	// after the sweeper took the row over): its batch fails on the message
	// key, and the event, stored alone, is found to be a duplicate.
	reg2 := prometheus.NewRegistry()
	e2, _ := startEngine(t, db, actors.EngineConfig{Registry: reg2}, "commit2")
	require.NoError(t, e2.Process(ctx, redelivered))
	require.EqualValues(t, 1, counter(t, reg2, "crm_commit_batches_total", "failed"), "the redelivery fell back")
	// Sent again by the provider after it was processed (DESIGN §5.2): the
	// inbox holds only pending events, so it is stored again, as a new row,
	// and processing finds its message already stored (checked below: one
	// message each, the inbox empty).
	again := event(tcs[0], 0, 2)
	require.NotEqual(t, redelivered.InboxID, again.InboxID, "a new inbox row: the first was taken out when processed")
	require.NoError(t, e2.Process(ctx, again))

	for _, tc := range tcs {
		require.NoError(t, db.TenantTx(ctx, tc.tenant, func(tx pgx.Tx) error {
			var msgs, convs, unreplied, badSeq int
			require.NoError(t, tx.QueryRow(ctx, `SELECT count(*), count(DISTINCT conversation_id),
				count(*) FILTER (WHERE seq > 1 AND reply_to_id IS NULL) FROM messages`).Scan(&msgs, &convs, &unreplied))
			require.Equal(t, contacts*perContact, msgs, "every message once")
			require.Equal(t, contacts, convs)
			require.Zero(t, unreplied, "every reply points at the message it quotes")
			require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM conversations c WHERE last_seq <> $1 OR unread_count <> $1
				OR version <> $1 OR (SELECT array_agg(seq ORDER BY seq) FROM messages m WHERE m.conversation_id = c.id) <> '{1,2,3,4,5}'`,
				perContact).Scan(&badSeq))
			require.Zero(t, badSeq, "each conversation holds seq 1..5, one write per message")
			var events, maxSeq, created, carrying, pending int64
			require.NoError(t, tx.QueryRow(ctx, `SELECT count(*), max(seq), count(*) FILTER (WHERE type = 'conversation.created'),
				count(*) FILTER (WHERE type = 'message.created' AND payload->'conversation'->>'id' = conversation_id::text
					AND (payload->'conversation'->>'last_seq')::int = (payload->>'seq')::int)
				FROM tenant_events`).Scan(&events, &maxSeq, &created, &carrying))
			require.EqualValues(t, contacts+contacts*perContact, events, "one event per message, and one for each new conversation")
			require.EqualValues(t, contacts, created)
			require.EqualValues(t, contacts*perContact, carrying, "each message.created carries its conversation as of that message")
			require.Equal(t, events, maxSeq, "the tenant's sequence has no gap")
			require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events`).Scan(&pending))
			require.Zero(t, pending, "every inbox row is out of the inbox once processed")
			return nil
		}))
	}

	families, err := reg.Gather()
	require.NoError(t, err)
	var committed, failed, writes, batches float64
	for _, f := range families {
		switch f.GetName() {
		case "crm_commit_batches_total":
			for _, m := range f.GetMetric() {
				switch label(m, "outcome") {
				case "committed":
					committed = m.GetCounter().GetValue()
				case "failed":
					failed = m.GetCounter().GetValue()
				}
			}
		case "crm_commit_batch_writes":
			writes, batches = f.GetMetric()[0].GetHistogram().GetSampleSum(), float64(f.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	require.Positive(t, committed)
	require.Zero(t, failed, "no batch fell back")
	require.Greater(t, writes/batches, 2.0, "writes of several conversations share a transaction (%v writes in %v batches)", writes, batches)
}

func counter(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				if label(m, "outcome") == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// startEngine makes an engine on db (cfg's DB and Log filled in, no sweeps
// unless asked) attached to a cluster node of its own, both stopped when t
// ends. The engine's workers are not started.
func startEngine(t *testing.T, db *persistence.DB, cfg actors.EngineConfig, name string) (*actors.Engine, *cluster.Node) {
	t.Helper()
	cfg.DB = db
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SweepAfter == 0 {
		cfg.SweepAfter = time.Hour
	}
	e, err := actors.NewEngine(cfg)
	require.NoError(t, err)
	node, err := cluster.Start(context.Background(), cluster.Config{Kinds: e.Kinds(), Logger: slog.New(slog.DiscardHandler),
		Name: name + "-" + crm.NewID().String()})
	require.NoError(t, err)
	t.Cleanup(func() { node.Shutdown(false) })
	e.Attach(node)
	t.Cleanup(e.Stop)
	return e, node
}

// textEvent is a WhatsApp text message with provider id id from the
// contact waID.
func textEvent(waID, id, text string) *crmpb.ChannelEvent {
	return &crmpb.ChannelEvent{Provider: "meta", Channel: crmpb.Channel_CHANNEL_WHATSAPP, DedupeKey: id,
		Event: &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
			Contact: &crmpb.ContactProfile{WaId: waID},
			Message: &crmpb.Message{ExternalId: id, Type: crmpb.MessageType_MESSAGE_TYPE_TEXT, Text: text}}}}
}

func seedTenant(t *testing.T, db *persistence.DB, slug string) (uuid.UUID, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	planID, err := db.CreatePlan(ctx, persistence.NewPlan{Name: slug, Limits: crm.PlanLimits{Users: 10, Connections: 10,
		Contacts: 1000, MonthlyConversations: 1000}})
	require.NoError(t, err)
	tenant, _, err := db.CreateTenant(ctx, persistence.NewTenant{Name: slug, Slug: slug, Email: slug + "@f.test", PlanID: planID,
		AdminName: "A", AdminEmail: "a@" + slug + ".test", AdminPasswordHash: "x"})
	require.NoError(t, err)
	connection := crm.NewID()
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'wa', 'whatsapp', 'meta', 'v', 's')`, tenant, connection)
		return err
	}))
	return tenant, connection
}

// TestBacklogSaysWhenProcessingIsBehind: events handed to the dispatch
// queues count until processed; past MaxBacklog the engine is overloaded
// (the webhook route then sheds), and it recovers as the queues drain.
func TestBacklogSaysWhenProcessingIsBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	e, _ := startEngine(t, db, actors.EngineConfig{MaxBacklog: 2}, "backlog")
	tenant, conn := seedTenant(t, db, "backlog")
	var items []actors.InboxItem
	for i := 0; i < 3; i++ {
		id := fmt.Sprint("wamid.backlog.", i)
		items = append(items, actors.InboxItem{InboxID: crm.NewID(), TenantID: tenant, ConnectionID: conn, ReceivedAt: time.Now(),
			Event: textEvent(fmt.Sprint("551190000000", i), id, "oi")})
	}
	e.Dispatch(ctx, items[:2])
	require.EqualValues(t, 2, e.Backlog())
	require.False(t, e.Overloaded(), "at the limit, not past it")
	e.Dispatch(ctx, items[2:])
	require.True(t, e.Overloaded(), "the workers have not started: three events wait")

	e.Start(ctx)
	require.Eventually(t, func() bool { return e.Backlog() == 0 }, 10*time.Second, 10*time.Millisecond)
	require.False(t, e.Overloaded())
	var stored int
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&stored)
	}))
	require.Equal(t, 3, stored)
}

// TestSweeperReadsBinaryAndLegacyInboxRows: the sweeper takes over stale
// inbox rows whatever their format — the binary protobuf event rows are
// stored with now, and protojson payloads in rows stored before migration
// 0008 — and both become messages.
func TestSweeperReadsBinaryAndLegacyInboxRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	e, _ := startEngine(t, db, actors.EngineConfig{}, "sweep")
	e.Start(ctx)
	tenant, conn := seedTenant(t, db, "sweepfmt")
	event := func(i int) *crmpb.ChannelEvent {
		id := fmt.Sprint("wamid.sweep.", i)
		return &crmpb.ChannelEvent{Provider: "meta", Channel: crmpb.Channel_CHANNEL_WHATSAPP, DedupeKey: id, TimestampMs: time.Now().UnixMilli(),
			Event: &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
				Contact: &crmpb.ContactProfile{WaId: fmt.Sprint("55119000000", i)},
				Message: &crmpb.Message{ExternalId: id, Type: crmpb.MessageType_MESSAGE_TYPE_TEXT, Text: fmt.Sprint("texto ", i)}}}}
	}
	inbox := persistence.NewInboxWriter(db, persistence.InboxConfig{}, nil)
	t.Cleanup(inbox.Close)
	binary, err := proto.Marshal(event(1))
	require.NoError(t, err)
	_, err = inbox.Append(ctx, []persistence.InboxEvent{{TenantID: tenant, ConnectionID: conn, Provider: "meta", DedupeKey: "wamid.sweep.1", Event: binary}})
	require.NoError(t, err)
	legacy, err := protojson.Marshal(event(2))
	require.NoError(t, err)
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO inbound_events (tenant_id, id, connection_id, provider, kind, dedupe_key, payload)
			VALUES ($1, $2, $3, 'meta', 'message', 'wamid.sweep.2', $4::jsonb)`, tenant, crm.NewID(), conn, string(legacy)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE inbound_events SET claimed_at = now() - interval '1 hour'`)
		return err
	}))

	require.Equal(t, 2, e.Sweep(ctx))
	var texts []string
	require.Eventually(t, func() bool {
		texts = nil
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT text FROM messages ORDER BY text`)
			if err != nil {
				return err
			}
			texts, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}))
		return len(texts) == 2
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{"texto 1", "texto 2"}, texts)
}

// TestWrongNewContactHintStillFindsTheConversation: a grain told its
// contact is new skips looking for a conversation; when that is wrong (the
// person wrote before) the insert of a second live conversation fails its
// batch, and the event is stored alone, into the existing conversation.
func TestWrongNewContactHintStillFindsTheConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	tenant, conn := seedTenant(t, db, "hint")
	event := func(i int) *crmpb.ChannelEvent {
		id := fmt.Sprint("wamid.hint.", i)
		return &crmpb.ChannelEvent{Provider: "meta", Channel: crmpb.Channel_CHANNEL_WHATSAPP, DedupeKey: id, TimestampMs: time.Now().UnixMilli(),
			Event: &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
				Contact: &crmpb.ContactProfile{WaId: "5511900001234", Name: "Bia"},
				Message: &crmpb.Message{ExternalId: id, Type: crmpb.MessageType_MESSAGE_TYPE_TEXT, Text: fmt.Sprint("msg ", i)}}}}
	}
	e1, _ := startEngine(t, db, actors.EngineConfig{}, "hint-a")
	require.NoError(t, e1.Process(ctx, actors.InboxItem{InboxID: crm.NewID(), TenantID: tenant, ConnectionID: conn, Event: event(1), ReceivedAt: time.Now()}))
	var contact, conv uuid.UUID
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT contact_id, id FROM conversations`).Scan(&contact, &conv)
	}))

	// Another node's fresh grain of the same conversation, told (wrongly)
	// that the contact is new.
	_, node2 := startEngine(t, db, actors.EngineConfig{Registry: reg}, "hint-b")
	resp, err := node2.Request(ctx, actors.ConversationIdentity(tenant, conn, contact), actors.KindConversation, &crmpb.InboundEvent{
		Conversation: &crmpb.ConversationRef{TenantId: tenant.String(), ConnectionId: conn.String(), ContactId: contact.String()},
		InboxEventId: crm.NewID().String(), Event: event(2), ReceivedAtUnixMs: time.Now().UnixMilli(), NewContact: true})
	require.NoError(t, err)
	res, ok := resp.(*crmpb.InboundEventResult)
	require.True(t, ok, "answered %T", resp)
	require.Nil(t, res.GetError())
	require.Equal(t, conv.String(), res.GetConversationId())
	require.False(t, res.GetNewConversation())
	require.EqualValues(t, 2, res.GetSeq())
	require.EqualValues(t, 1, counter(t, reg, "crm_commit_batches_total", "failed"), "the hint was taken, and its batch failed")

	var convs, msgs int
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM conversations`).Scan(&convs); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv).Scan(&msgs)
	}))
	require.Equal(t, 1, convs)
	require.Equal(t, 2, msgs)
}

// TestDispatchKeepsAContactsOrderThroughOverflow: a burst from one contact
// larger than its dispatch shard's queue waits partly in the shard's
// overflow; its messages are still stored in the order they arrived
// (DESIGN §5.3: per-conversation order).
func TestDispatchKeepsAContactsOrderThroughOverflow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	e, _ := startEngine(t, db, actors.EngineConfig{}, "order")
	tenant, conn := seedTenant(t, db, "order")
	const n = 120 // a shard's queue holds 10,000/256+1 = 40
	var items []actors.InboxItem
	for i := 0; i < n; i++ {
		id := fmt.Sprint("wamid.order.", i)
		items = append(items, actors.InboxItem{InboxID: crm.NewID(), TenantID: tenant, ConnectionID: conn, ReceivedAt: time.Now(),
			Event: textEvent("5511900005555", id, fmt.Sprint(i))})
	}
	e.Dispatch(ctx, items) // the workers have not started: the queue fills, the rest overflows
	e.Start(ctx)
	require.Eventually(t, func() bool { return e.Backlog() == 0 }, 20*time.Second, 10*time.Millisecond)
	var texts []string
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT text FROM messages ORDER BY seq`)
		if err != nil {
			return err
		}
		texts, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	require.Len(t, texts, n, "none left to the sweeper")
	for i, text := range texts {
		require.Equal(t, fmt.Sprint(i), text, "message %d out of order", i)
	}
}

// inboxTexts stores text messages from the contact waID in the inbox, the
// way a webhook does, and answers them as dispatch items: items(from, to)
// are the messages with texts from … to-1.
func inboxTexts(t *testing.T, db *persistence.DB, tenant, conn uuid.UUID, waID string) func(from, to int) []actors.InboxItem {
	inbox := persistence.NewInboxWriter(db, persistence.InboxConfig{}, nil)
	t.Cleanup(inbox.Close)
	return func(from, to int) []actors.InboxItem {
		var out []actors.InboxItem
		for i := from; i < to; i++ {
			id := fmt.Sprint("wamid.", waID, ".", i)
			ev := textEvent(waID, id, fmt.Sprint(i))
			raw, err := proto.Marshal(ev)
			require.NoError(t, err)
			receipts, err := inbox.Append(context.Background(), []persistence.InboxEvent{{TenantID: tenant, ConnectionID: conn,
				Provider: "meta", Kind: "message", DedupeKey: id, Event: raw}})
			require.NoError(t, err)
			out = append(out, actors.InboxItem{InboxID: receipts[0].ID, TenantID: tenant, ConnectionID: conn, ReceivedAt: time.Now(), Event: ev})
		}
		return out
	}
}

// TestDeferredEventsOfAStoppedNodeAreNotLost: a node that stops with
// events deferred (their inbox rows pending, only keys in memory, some
// claimed back) loses none of them: another node's sweeper takes the rows
// over once their claim is stale and stores each message once (DESIGN §5.1,
// §5.2).
func TestDeferredEventsOfAStoppedNodeAreNotLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	first, _ := startEngine(t, db, actors.EngineConfig{Registry: reg, ClaimTimeout: time.Hour, MaxBacklog: 60}, "stopped")
	tenant, conn := seedTenant(t, db, "stopped")
	const n = 120 // one contact, one shard: its queue holds 40, the rest is deferred
	items := inboxTexts(t, db, tenant, conn, "5511900007777")
	first.Dispatch(ctx, items(0, n)) // never started: nothing is processed
	require.Eventually(t, func() bool { return counter(t, reg, "crm_dispatch_deferred_total", "") == n-40 }, 10*time.Second, 20*time.Millisecond)
	first.Stop()

	second, _ := startEngine(t, db, actors.EngineConfig{ClaimTimeout: time.Second, SweepAfter: 100 * time.Millisecond}, "sweeper")
	second.Start(ctx)
	var stored, distinct, left int
	require.Eventually(t, func() bool {
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages), (SELECT count(DISTINCT external_id) FROM messages),
				(SELECT count(*) FROM inbound_events)`).Scan(&stored, &distinct, &left)
		}))
		return left == 0 && stored >= n
	}, 30*time.Second, 50*time.Millisecond, "every event the stopped node held is stored by the other")
	require.Equal(t, n, stored, "each message once")
	require.Equal(t, n, distinct)
}

// TestDeferredEventsAreTakenBackInOrder: events that waited in a full
// dispatch shard past their deadline are deferred to their inbox rows, and
// the contact's later events join them instead of overtaking them; the
// shard takes the rows back in order as its worker frees room, without the
// sweeper and long before their claim would time out, and every message is
// stored in the order it arrived (DESIGN §5.3). Meanwhile the engine sheds
// webhooks while more than half of MaxBacklog waits, and not once drained.
func TestDeferredEventsAreTakenBackInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	e, _ := startEngine(t, db, actors.EngineConfig{Registry: reg, ClaimTimeout: time.Hour, SweepAfter: time.Hour,
		MaxBacklog: 60}, "deferred")
	tenant, conn := seedTenant(t, db, "deferred")
	items := inboxTexts(t, db, tenant, conn, "5511900006666")
	const n, later = 120, 30     // one contact, one shard: its queue holds 40, the rest overflows
	e.Dispatch(ctx, items(0, n)) // the workers have not started: 80 wait in the overflow past their 2 s
	require.Eventually(t, func() bool { return counter(t, reg, "crm_dispatch_deferred_total", "") == n-40 }, 10*time.Second, 20*time.Millisecond)
	require.InDelta(t, 40, e.Backlog(), 1, "what waits in the shard's queue (and the first row being taken back)")
	require.True(t, e.Overloaded(), "a deferral just now, and more than half of MaxBacklog waiting")
	// The queue has no room and the overflow is empty again: the contact's
	// next events still go behind the deferred ones, not into the overflow.
	e.Dispatch(ctx, items(n, n+later))
	require.EqualValues(t, n-40+later, counter(t, reg, "crm_dispatch_deferred_total", ""))
	e.Start(ctx)
	require.Eventually(t, func() bool {
		var stored int
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&stored)
		}))
		return stored == n+later
	}, 20*time.Second, 50*time.Millisecond, "the deferred events are stored without the sweeper, inside the hour their claim lasts")
	require.Eventually(t, func() bool { return e.Backlog() == 0 }, 5*time.Second, 10*time.Millisecond)
	require.False(t, e.Overloaded(), "drained below half of MaxBacklog: webhooks are taken again, deferral or not")
	// Drained, the shard dispatches straight to its queue again.
	e.Dispatch(ctx, items(n+later, n+later+1))
	require.EqualValues(t, n-40+later, counter(t, reg, "crm_dispatch_deferred_total", ""), "nothing deferred once drained")
	var left int
	var texts []string
	require.Eventually(t, func() bool {
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events`).Scan(&left); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT text FROM messages ORDER BY seq`)
			if err != nil {
				return err
			}
			texts, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}))
		return len(texts) == n+later+1 && left == 0
	}, 10*time.Second, 20*time.Millisecond, "every message stored, and the inbox empty")
	for i, text := range texts {
		require.Equal(t, fmt.Sprint(i), text, "message %d out of order: deferred events are taken back in the order they arrived", i)
	}
}
