// Package storetest is the contract of actors.Store: what the grains rely
// on from whatever stores their conversations. Every implementation runs
// Exercise (River's riverdrivertest, Mattermost's storetest).
package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/persistence"
)

// Tenant is a seeded tenant: a WhatsApp connection and a contact on it.
type Tenant struct {
	ID, ConnectionID, ContactID uuid.UUID
}

// Fixture is a fresh store holding two tenants and nothing else of theirs
// (no conversations, messages or tenant events).
type Fixture struct {
	Store actors.Store
	A, B  Tenant
}

// Exercise runs the contract against the stores open returns, a fresh one
// per case.
func Exercise(t *testing.T, open func(t *testing.T) Fixture) {
	t.Run("StaleWriteIsFenced", func(t *testing.T) { t.Parallel(); staleWriteIsFenced(t, open(t)) })
	t.Run("OtherTenantsRowsAreNotFound", func(t *testing.T) { t.Parallel(); otherTenantsRowsAreNotFound(t, open(t)) })
	t.Run("OneMessagePerKey", func(t *testing.T) { t.Parallel(); oneMessagePerKey(t, open(t)) })
	t.Run("TenantEventsAreGapFree", func(t *testing.T) { t.Parallel(); tenantEventsAreGapFree(t, open(t)) })
	t.Run("DeliveryStatusOnlyMovesForward", func(t *testing.T) { t.Parallel(); deliveryStatusOnlyMovesForward(t, open(t)) })
	t.Run("BotContactWritesSkipWhatDoesNotFit", func(t *testing.T) { t.Parallel(); botContactWritesSkipWhatDoesNotFit(t, open(t)) })
	t.Run("OutsideHoursReplyOncePerPeriod", func(t *testing.T) { t.Parallel(); outsideHoursReplyOncePerPeriod(t, open(t)) })
}

// The outside-hours reply is recorded once per conversation per closed
// period, and a conversation of another tenant is not found.
func outsideHoursReplyOncePerPeriod(t *testing.T, f Fixture) {
	c := newConversation(f.A)
	in(t, f.Store, f.A.ID, func(ctx context.Context, tx actors.TenantStore) error { return tx.InsertConversation(ctx, c) })
	friday, monday := t0.Add(-64*time.Hour), t0.Add(-16*time.Hour)
	for i, want := range []bool{true, false, true, false} {
		period := friday
		if i >= 2 {
			period = monday
		}
		in(t, f.Store, f.A.ID, func(ctx context.Context, tx actors.TenantStore) error {
			first, err := tx.RecordOutsideHoursReply(ctx, c.ID, period)
			require.Equal(t, want, first, "record %d", i)
			return err
		})
	}
	err := f.Store.InTenant(context.Background(), f.B.ID, func(tx actors.TenantStore) error {
		_, err := tx.RecordOutsideHoursReply(context.Background(), c.ID, monday.Add(time.Hour))
		return err
	})
	require.Error(t, err, "another tenant's conversation is not there to reply on")
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func in(t *testing.T, s actors.Store, tenant uuid.UUID, fn func(ctx context.Context, tx actors.TenantStore) error) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.InTenant(ctx, tenant, func(tx actors.TenantStore) error { return fn(ctx, tx) }))
}

func newConversation(tn Tenant) *crm.Conversation {
	return &crm.Conversation{ID: crm.NewID(), TenantID: tn.ID, ConnectionID: tn.ConnectionID, ContactID: tn.ContactID,
		Channel: "whatsapp", Status: crm.ConversationOpen}
}

func newMessage(c *crm.Conversation, seq int64, direction, externalID string) *crm.Message {
	m := &crm.Message{ID: crm.NewID(), TenantID: c.TenantID, ConversationID: c.ID, ConnectionID: c.ConnectionID,
		ContactID: c.ContactID, Seq: seq, Direction: direction, Type: "text", Text: "hello", CreatedAt: t0}
	if externalID != "" {
		m.ExternalID = &externalID
	}
	m.Status = crm.DeliveryReceived
	if direction == "outbound" {
		m.Status = crm.DeliverySent
	}
	return m
}

// staleWriteIsFenced: two activations load the same conversation; the first
// write wins and the second, at the version it loaded, gets ErrFenced and
// changes nothing. A second live conversation of the same contact is a
// conflict.
func staleWriteIsFenced(t *testing.T, f Fixture) {
	a := f.A
	conv := newConversation(a)
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error { return tx.InsertConversation(ctx, conv) })
	require.EqualValues(t, 1, conv.Version)

	var first, second *crm.Conversation
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) (err error) {
		first, err = tx.CurrentConversation(ctx, a.ConnectionID, a.ContactID)
		return err
	})
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) (err error) {
		second, err = tx.CurrentConversation(ctx, a.ConnectionID, a.ContactID)
		return err
	})
	require.Equal(t, conv.ID, first.ID)

	first.UnreadCount = 1
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error { return tx.SaveConversation(ctx, first) })
	require.EqualValues(t, 2, first.Version, "a write moves the version on")

	second.UnreadCount = 7
	err := f.Store.InTenant(context.Background(), a.ID, func(tx actors.TenantStore) error {
		return tx.SaveConversation(context.Background(), second)
	})
	require.ErrorIs(t, err, persistence.ErrFenced)

	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		stored, err := tx.ConversationByID(ctx, conv.ID)
		require.NoError(t, err)
		require.Equal(t, 1, stored.UnreadCount, "the fenced write changed nothing")
		require.EqualValues(t, 2, stored.Version)
		return nil
	})

	err = f.Store.InTenant(context.Background(), a.ID, func(tx actors.TenantStore) error {
		return tx.InsertConversation(context.Background(), newConversation(a))
	})
	require.ErrorIs(t, err, crm.ErrConflict, "one live conversation per connection and contact")
}

// otherTenantsRowsAreNotFound: inside tenant B's transactions, tenant A's
// conversation and message do not exist, and cannot be written.
func otherTenantsRowsAreNotFound(t *testing.T, f Fixture) {
	a := f.A
	conv := newConversation(a)
	m := newMessage(conv, 1, "inbound", "wamid.a1")
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		if err := tx.InsertConversation(ctx, conv); err != nil {
			return err
		}
		_, err := tx.InsertMessage(ctx, m)
		return err
	})

	in(t, f.Store, f.B.ID, func(ctx context.Context, tx actors.TenantStore) error {
		_, err := tx.ConversationByID(ctx, conv.ID)
		require.ErrorIs(t, err, crm.ErrNotFound)
		_, err = tx.MessageByID(ctx, m.ID)
		require.ErrorIs(t, err, crm.ErrNotFound)
		live, err := tx.CurrentConversation(ctx, a.ConnectionID, a.ContactID)
		require.NoError(t, err)
		require.Nil(t, live)
		found, err := tx.FindMessageByKey(ctx, "external", a.ConnectionID, "wamid.a1")
		require.NoError(t, err)
		require.Nil(t, found)
		return nil
	})

	stolen := *conv
	stolen.UnreadCount = 99
	err := f.Store.InTenant(context.Background(), f.B.ID, func(tx actors.TenantStore) error {
		return tx.SaveConversation(context.Background(), &stolen)
	})
	require.Error(t, err, "a write to another tenant's conversation")
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		stored, err := tx.ConversationByID(ctx, conv.ID)
		require.NoError(t, err)
		require.Equal(t, 0, stored.UnreadCount)
		return nil
	})
}

// oneMessagePerKey: a provider's message id (per connection) and a send's
// idempotency key each store one message; a repeat writes nothing and
// answers the message already stored.
func oneMessagePerKey(t *testing.T, f Fixture) {
	a := f.A
	conv := newConversation(a)
	first := newMessage(conv, 1, "inbound", "wamid.dup")
	key := "send-1"
	sent := newMessage(conv, 2, "outbound", "")
	sent.IdempotencyKey, sent.Status = &key, crm.DeliveryPending
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		require.NoError(t, tx.InsertConversation(ctx, conv))
		existing, err := tx.InsertMessage(ctx, first)
		require.NoError(t, err)
		require.Nil(t, existing)
		existing, err = tx.InsertMessage(ctx, sent)
		require.NoError(t, err)
		require.Nil(t, existing)
		return nil
	})

	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		again := newMessage(conv, 3, "inbound", "wamid.dup")
		existing, err := tx.InsertMessage(ctx, again)
		require.NoError(t, err)
		require.NotNil(t, existing)
		require.Equal(t, first.ID, existing.ID)

		resend := newMessage(conv, 4, "outbound", "")
		resend.IdempotencyKey = &key
		existing, err = tx.InsertMessage(ctx, resend)
		require.NoError(t, err)
		require.NotNil(t, existing)
		require.Equal(t, sent.ID, existing.ID)

		_, err = tx.MessageByID(ctx, again.ID)
		require.ErrorIs(t, err, crm.ErrNotFound, "the repeat was not stored")
		found, err := tx.FindMessageByKey(ctx, "idempotency", uuid.Nil, key)
		require.NoError(t, err)
		require.Equal(t, sent.ID, found.ID)
		return nil
	})

	// The same provider id on another tenant's connection is another message.
	convB := newConversation(f.B)
	other := newMessage(convB, 1, "inbound", "wamid.dup")
	in(t, f.Store, f.B.ID, func(ctx context.Context, tx actors.TenantStore) error {
		require.NoError(t, tx.InsertConversation(ctx, convB))
		existing, err := tx.InsertMessage(ctx, other)
		require.NoError(t, err)
		require.Nil(t, existing)
		return nil
	})
}

// tenantEventsAreGapFree: a tenant's events are numbered 1, 2, 3… in the
// order their transactions commit, whatever runs at once; a rolled-back
// append leaves no hole, and tenants count apart.
func tenantEventsAreGapFree(t *testing.T, f Fixture) {
	ctx := context.Background()
	event := func() crm.TenantEvent { return crm.TenantEvent{Type: "test.event", Payload: []byte(`{}`)} }
	var seqs []int64
	appendN := func(tenant uuid.UUID, n int) []int64 {
		events := make([]crm.TenantEvent, n)
		for i := range events {
			events[i] = event()
		}
		in(t, f.Store, tenant, func(ctx context.Context, tx actors.TenantStore) error { return tx.AppendTenantEvents(ctx, events) })
		out := make([]int64, n)
		for i, e := range events {
			out[i] = e.Seq
		}
		return out
	}
	seqs = append(seqs, appendN(f.A.ID, 1)...)
	seqs = append(seqs, appendN(f.A.ID, 3)...)
	require.Equal(t, []int64{1, 2, 3, 4}, seqs)

	rolledBack := errors.New("roll back")
	err := f.Store.InTenant(ctx, f.A.ID, func(tx actors.TenantStore) error {
		if err := tx.AppendTenantEvents(ctx, []crm.TenantEvent{event()}); err != nil {
			return err
		}
		return rolledBack
	})
	require.ErrorIs(t, err, rolledBack)

	require.Equal(t, []int64{1, 2}, appendN(f.B.ID, 2), "another tenant counts on its own")

	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got := appendN(f.A.ID, 2)
			mu.Lock()
			seqs = append(seqs, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	for i, s := range seqs {
		require.EqualValues(t, i+1, s, "no gap and no repeat: %v", seqs)
	}
}

// deliveryStatusOnlyMovesForward: sent → read holds against a late
// delivered; a status for a message not stored yet is parked, and taken
// once.
func deliveryStatusOnlyMovesForward(t *testing.T, f Fixture) {
	a := f.A
	conv := newConversation(a)
	out := newMessage(conv, 1, "outbound", "wamid.out")
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		require.NoError(t, tx.InsertConversation(ctx, conv))
		_, err := tx.InsertMessage(ctx, out)
		return err
	})
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		m, changed, err := tx.ApplyStatus(ctx, a.ConnectionID, "wamid.out", crm.DeliveryRead, t0.Add(2*time.Second), nil)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, crm.DeliveryRead, m.Status)

		m, changed, err = tx.ApplyStatus(ctx, a.ConnectionID, "wamid.out", crm.DeliveryDelivered, t0.Add(time.Second), nil)
		require.NoError(t, err)
		require.False(t, changed, "delivered after read is late news")
		require.Equal(t, crm.DeliveryRead, m.Status)

		m, changed, err = tx.ApplyStatus(ctx, a.ConnectionID, "wamid.later", crm.DeliveryDelivered, t0, nil)
		require.NoError(t, err)
		require.False(t, changed)
		require.Nil(t, m, "no message with that id yet: the caller parks the status")
		return tx.ParkStatus(ctx, a.ConnectionID, "wamid.later", crm.DeliveryDelivered, t0, nil)
	})
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		stored, err := tx.MessageByID(ctx, out.ID)
		require.NoError(t, err)
		require.Equal(t, crm.DeliveryRead, stored.Status)

		parked, err := tx.TakeParkedStatuses(ctx, a.ConnectionID, "wamid.later")
		require.NoError(t, err)
		require.Len(t, parked, 1)
		require.Equal(t, crm.DeliveryDelivered, parked[0].Status)
		parked, err = tx.TakeParkedStatuses(ctx, a.ConnectionID, "wamid.later")
		require.NoError(t, err)
		require.Empty(t, parked, "a parked status is taken once")
		return nil
	})
}

// botContactWritesSkipWhatDoesNotFit: what a flow writes to its contact
// lands in the contact; a value the row cannot take (not an email, a phone
// another contact has, a label that does not exist) is skipped, reported
// false, and does not fail the transaction; another tenant's contact is
// not found.
func botContactWritesSkipWhatDoesNotFit(t *testing.T, f Fixture) {
	a := f.A
	in(t, f.Store, a.ID, func(ctx context.Context, tx actors.TenantStore) error {
		for _, w := range []struct {
			field, value string
			ok           bool
		}{
			{"name", "Maria Souza", true}, {"email", " Maria@Example.COM ", true}, {"email", "not-an-email", false},
			{"phone", "(11) 98765-4321", true}, {"custom.plano", "ouro", true}, {"custom.", "x", false}, {"notes", "x", false},
		} {
			ok, err := tx.SetContactField(ctx, a.ContactID, w.field, w.value)
			require.NoError(t, err, w.field)
			require.Equal(t, w.ok, ok, "%s = %q", w.field, w.value)
		}
		ok, err := tx.SetContactLabel(ctx, a.ContactID, uuid.New(), true)
		require.NoError(t, err)
		require.False(t, ok, "a label that does not exist is skipped")
		c, err := tx.BotContact(ctx, a.ContactID)
		require.NoError(t, err)
		require.Equal(t, "Maria Souza", c.Name)
		require.Equal(t, "maria@example.com", c.Email)
		require.Equal(t, "+5511987654321", c.Phone)
		require.Equal(t, "ouro", c.Fields["plano"])
		live, err := tx.LiveBotSession(ctx, uuid.New())
		require.NoError(t, err)
		require.Nil(t, live)
		return nil
	})
	in(t, f.Store, f.B.ID, func(ctx context.Context, tx actors.TenantStore) error {
		_, err := tx.BotContact(ctx, a.ContactID)
		require.ErrorIs(t, err, crm.ErrNotFound)
		ok, err := tx.SetContactField(ctx, a.ContactID, "name", "Intrusa")
		require.NoError(t, err)
		require.False(t, ok, "another tenant's contact is not written")
		return nil
	})
}
