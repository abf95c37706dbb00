package persistence_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

type convFixture struct {
	db                    *persistence.DB
	tenant, conn, contact uuid.UUID
}

func newConvFixture(t *testing.T) convFixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := createTenant(t, db, "conv")
	conn := crm.NewID()
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'wa', 'whatsapp', 'sandbox', 'v', 's')`, tenant, conn)
		return err
	}))
	contact, created, err := db.ResolveContact(ctx, tenant, "whatsapp", "5511987654321", "Maria", "+5511987654321")
	require.NoError(t, err)
	require.True(t, created)
	return convFixture{db: db, tenant: tenant, conn: conn, contact: contact}
}

func TestResolveContactIsIdempotentUnderConcurrency(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 20)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id, _, err := f.db.ResolveContact(ctx, f.tenant, "whatsapp", "5521999990000", "João", "+5521999990000")
			require.NoError(t, err)
			ids[i] = id
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	again, created, err := f.db.ResolveContact(ctx, f.tenant, "whatsapp", "5511987654321", "Other name", "")
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, f.contact, again)
}

// TestResolveContactGivesUpOnAConflictThatPersists: a unique violation is
// retried once (the other transaction has committed: its row is read), but
// one that does not go away is an error, not a loop. A trigger makes every
// identity insert fail as a unique violation and counts the tries.
func TestResolveContactGivesUpOnAConflictThatPersists(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := f.db.Pool.Exec(ctx, `
		CREATE SEQUENCE identity_inserts;
		CREATE FUNCTION always_taken() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			PERFORM nextval('identity_inserts');
			RAISE EXCEPTION 'identity taken' USING ERRCODE = 'unique_violation';
		END $$;
		GRANT USAGE ON SEQUENCE identity_inserts TO PUBLIC;
		CREATE TRIGGER always_taken BEFORE INSERT ON contact_identities FOR EACH ROW EXECUTE FUNCTION always_taken();`)
	require.NoError(t, err)
	_, _, err = f.db.ResolveContact(ctx, f.tenant, "whatsapp", "5521988887777", "Ana", "+5521988887777")
	require.ErrorIs(t, err, crm.ErrConflict)
	require.NoError(t, ctx.Err(), "gave up on its own, not at the deadline")
	var tries int64
	require.NoError(t, f.db.Pool.QueryRow(ctx, `SELECT last_value FROM identity_inserts`).Scan(&tries))
	require.EqualValues(t, 2, tries, "one try and one retry")
}

// TestConversationWritesAreFenced: a second activation holding a stale copy
// cannot write; it gets ErrFenced and nothing of its write lands.
func TestConversationWritesAreFenced(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	var id uuid.UUID
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		c := &crm.Conversation{TenantID: f.tenant, ConnectionID: f.conn, ContactID: f.contact, Channel: "whatsapp"}
		if err := persistence.InsertConversation(ctx, tx, c); err != nil {
			return err
		}
		id = c.ID
		return nil
	}))
	load := func() *crm.Conversation {
		var c *crm.Conversation
		require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
			var err error
			c, err = persistence.LoadConversationByID(ctx, tx, f.tenant, id)
			return err
		}))
		return c
	}
	owner, stale := load(), load()
	owner.LastSeq, owner.Status = 1, "in_progress"
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error { return persistence.SaveConversation(ctx, tx, owner) }))

	stale.LastSeq, stale.Status = 1, "resolved"
	err := f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		_, err := persistence.InsertMessage(ctx, tx, &crm.Message{TenantID: f.tenant, ConversationID: id,
			ConnectionID: f.conn, ContactID: f.contact, Seq: 1, Direction: "inbound", Type: "text", Text: "from the stale one",
			Status: "received"})
		if err != nil {
			return err
		}
		return persistence.SaveConversation(ctx, tx, stale)
	})
	require.ErrorIs(t, err, persistence.ErrFenced)
	now := load()
	require.Equal(t, crm.ConversationInProgress, now.Status)
	require.EqualValues(t, 2, now.Version)
	page, err := f.db.ListMessages(ctx, f.tenant, id, "", 10)
	require.NoError(t, err)
	require.Empty(t, page.Items, "the fenced transaction rolled back its message")
}

func TestMessageKeysDeduplicate(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	convID := insertConversation(t, f)
	ext, idem := "wamid.A", "client-key-1"
	var firstID uuid.UUID
	for i := 0; i < 3; i++ {
		require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
			existing, err := persistence.InsertMessage(ctx, tx, &crm.Message{TenantID: f.tenant, ConversationID: convID,
				ConnectionID: f.conn, ContactID: f.contact, Seq: int64(i + 1), Direction: "inbound", Type: "text", Text: "oi",
				ExternalID: &ext, Status: "received"})
			if err != nil {
				return err
			}
			if i == 0 {
				require.Nil(t, existing)
			} else {
				require.NotNil(t, existing)
				require.Equal(t, firstID, existing.ID)
			}
			return nil
		}))
		if i == 0 {
			page, err := f.db.ListMessages(ctx, f.tenant, convID, "", 10)
			require.NoError(t, err)
			firstID = page.Items[0].ID
		}
	}
	// Idempotency keys are unique per tenant, whatever the connection.
	for i := 0; i < 2; i++ {
		require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
			existing, err := persistence.InsertMessage(ctx, tx, &crm.Message{TenantID: f.tenant, ConversationID: convID,
				ConnectionID: f.conn, ContactID: f.contact, Seq: int64(10 + i), Direction: "outbound", Type: "text", Text: "olá",
				IdempotencyKey: &idem, Status: "pending"})
			require.Equal(t, i == 1, existing != nil)
			return err
		}))
	}
	page, err := f.db.ListMessages(ctx, f.tenant, convID, "", 10)
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
}

func insertConversation(t *testing.T, f convFixture) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		c := &crm.Conversation{TenantID: f.tenant, ConnectionID: f.conn, ContactID: f.contact, Channel: "whatsapp"}
		err := persistence.InsertConversation(ctx, tx, c)
		id = c.ID
		return err
	}))
	return id
}

// TestStatusesOnlyMoveForwardAndParkedOnesApplyLater feeds statuses in every
// order, including before the message exists, and checks the final state.
func TestStatusesOnlyMoveForwardAndParkedOnesApplyLater(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	convID := insertConversation(t, f)
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	statuses := []crm.DeliveryStatus{crm.DeliverySent, crm.DeliveryDelivered, crm.DeliveryRead}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 10; round++ {
		ext := fmt.Sprintf("wamid.out.%d", round)
		order := rng.Perm(len(statuses))
		messageAfter := rng.IntN(len(statuses) + 1) // statuses before this index arrive before the message
		store := func() {
			require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
				m := &crm.Message{TenantID: f.tenant, ConversationID: convID, ConnectionID: f.conn, ContactID: f.contact,
					Seq: int64(round + 1), Direction: "outbound", Type: "text", Text: "x", ExternalID: &ext, Status: "sent"}
				if _, err := persistence.InsertMessage(ctx, tx, m); err != nil {
					return err
				}
				parked, err := persistence.TakeParkedStatuses(ctx, tx, f.tenant, f.conn, ext)
				if err != nil {
					return err
				}
				for _, p := range parked {
					if _, _, err := persistence.ApplyStatus(ctx, tx, f.tenant, f.conn, ext, p.Status, p.OccurredAt, p.Error); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		for i, idx := range order {
			if i == messageAfter {
				store()
			}
			st := statuses[idx]
			require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
				m, _, err := persistence.ApplyStatus(ctx, tx, f.tenant, f.conn, ext, st, base.Add(time.Duration(idx)*time.Minute), nil)
				if err != nil || m != nil {
					return err
				}
				return persistence.ParkStatus(ctx, tx, f.tenant, f.conn, ext, st, base.Add(time.Duration(idx)*time.Minute), nil)
			}))
		}
		if messageAfter == len(statuses) {
			store()
		}
		require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
			m, err := persistence.FindMessageByKey(ctx, tx, f.tenant, "external", f.conn, ext)
			require.NotNil(t, m)
			require.Equal(t, crm.DeliveryRead, m.Status, "round %d order %v message after %d", round, order, messageAfter)
			require.NotNil(t, m.ReadAt)
			require.NotNil(t, m.DeliveredAt)
			// A late failure cannot undo a read.
			_, changed, err2 := persistence.ApplyStatus(ctx, tx, f.tenant, f.conn, ext, "failed", base, json.RawMessage(`{"code":131026}`))
			require.NoError(t, err2)
			require.False(t, changed)
			return err
		}))
	}
}

func TestTenantEventsAreGapFreeUnderConcurrency(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var failures sync.Map
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
				if err := persistence.AppendTenantEvent(ctx, tx, f.tenant, &crm.TenantEvent{Type: "test",
					Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
					return err
				}
				if i%5 == 0 {
					return errors.New("rolled back on purpose")
				}
				return nil
			})
			if err != nil {
				failures.Store(i, true)
			}
		}(i)
	}
	wg.Wait()
	events, last, err := f.db.TenantEventsSince(ctx, f.tenant, 0, 100, crm.Visibility{All: true})
	require.NoError(t, err)
	require.Len(t, events, 32, "8 of 40 transactions rolled back")
	for i, e := range events {
		require.EqualValues(t, i+1, e.Seq, "sequence has no gaps even with rollbacks")
	}
	require.EqualValues(t, 32, last)
	more, last2, err := f.db.TenantEventsSince(ctx, f.tenant, 30, 100, crm.Visibility{All: true})
	require.NoError(t, err)
	require.Len(t, more, 2)
	require.EqualValues(t, 32, last2)
}

// TestConversationVisibilityInSQLMatchesTheRule checks the list query against
// crm.Visibility.Sees for every role and assignment shape.
func TestConversationVisibilityInSQLMatchesTheRule(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	me, other := crm.NewID(), crm.NewID()
	myTeam, otherTeam := crm.NewID(), crm.NewID()
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		for _, u := range []uuid.UUID{me, other} {
			if _, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role) VALUES ($1, $2, 'u', $3, 'x', 'AGENT')`,
				f.tenant, u, u.String()+"@x.test"); err != nil {
				return err
			}
		}
		for _, tm := range []uuid.UUID{myTeam, otherTeam} {
			if _, err := tx.Exec(ctx, `INSERT INTO teams (tenant_id, id, name) VALUES ($1, $2, $3)`, f.tenant, tm, tm.String()); err != nil {
				return err
			}
		}
		return nil
	}))
	type shape struct{ assignee, team *uuid.UUID }
	shapes := []shape{{&me, nil}, {&me, &otherTeam}, {nil, nil}, {nil, &myTeam}, {&other, &myTeam}, {nil, &otherTeam}, {&other, nil}, {&other, &otherTeam}}
	byID := map[uuid.UUID]shape{}
	for i, s := range shapes {
		contact, _, err := f.db.ResolveContact(ctx, f.tenant, "whatsapp", fmt.Sprintf("55119000000%02d", i), "c", "")
		require.NoError(t, err)
		require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
			c := &crm.Conversation{TenantID: f.tenant, ConnectionID: f.conn, ContactID: contact, Channel: "whatsapp",
				AssigneeID: s.assignee, TeamID: s.team}
			err := persistence.InsertConversation(ctx, tx, c)
			byID[c.ID] = s
			return err
		}))
	}
	for _, role := range []crm.Role{crm.RoleAgent, crm.RoleSupervisor, crm.RoleTenantAdmin} {
		v := crm.VisibilityFor(crm.Principal{UserID: me, Role: role}, []uuid.UUID{myTeam})
		page, err := f.db.ListConversations(ctx, f.tenant, v, persistence.ConversationFilter{Limit: 100})
		require.NoError(t, err)
		got := map[uuid.UUID]bool{}
		for _, c := range page.Items {
			got[c.ID] = true
		}
		for id, s := range byID {
			require.Equal(t, v.Sees(s.assignee, s.team), got[id], "role %s, shape %+v", role, s)
			_, err := f.db.GetConversation(ctx, f.tenant, id, v)
			require.Equal(t, v.Sees(s.assignee, s.team), err == nil, "get as %s", role)
		}
	}
}
