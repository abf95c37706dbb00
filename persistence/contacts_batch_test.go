package persistence_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestResolveContactsInOneBatch: a batch of first messages over two
// tenants resolves like ResolveContact one by one: a known identity keeps
// its contact (and an empty name is filled), a phone an agent saved links to
// that contact, two identities with one new phone share one new contact, a
// repeated identity is answered once, and every tenant's rows are its own.
func TestResolveContactsInOneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	convs := seedConversations(t, db, 2, 1)
	a, b := convs[0].TenantID, convs[1].TenantID

	known, _, err := db.ResolveContact(ctx, a, "whatsapp", "5511900000001", "", "+5511900000001")
	require.NoError(t, err)
	var saved [16]byte
	require.NoError(t, db.TenantTx(ctx, a, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO contacts (tenant_id, id, name, phone) VALUES ($1, gen_random_uuid(), 'Saved', '+5511900000002') RETURNING id`, a).Scan(&saved)
	}))

	lookups := []*persistence.ContactLookup{
		{TenantID: a, Channel: "whatsapp", ExternalID: "5511900000001", Name: "Maria", Phone: "+5511900000001"},
		{TenantID: a, Channel: "whatsapp", ExternalID: "5511900000002", Name: "João", Phone: "+5511900000002"},
		{TenantID: a, Channel: "whatsapp", ExternalID: "5511900000003", Name: "Ana", Phone: "+5511900000003"},
		{TenantID: a, Channel: "instagram", ExternalID: "ig-ana", Name: "Ana IG", Phone: "+5511900000003"},
		{TenantID: a, Channel: "whatsapp", ExternalID: "5511900000003", Name: "Ana", Phone: "+5511900000003"},
		{TenantID: b, Channel: "whatsapp", ExternalID: "5511900000001", Name: "Maria B", Phone: "+5511900000001"},
	}
	require.NoError(t, db.ResolveContacts(ctx, lookups))
	require.Equal(t, known, lookups[0].ContactID, "a known identity keeps its contact")
	require.EqualValues(t, saved, lookups[1].ContactID, "the phone an agent saved links the identity to that contact")
	require.Equal(t, lookups[2].ContactID, lookups[3].ContactID, "two identities with one phone share a contact")
	require.Equal(t, lookups[2].ContactID, lookups[4].ContactID, "a repeated identity gets the same answer")
	require.NotEqual(t, known, lookups[5].ContactID, "tenant B's person is B's own contact")
	// Created only where this batch made the contact: not for a known
	// identity or a saved phone; for one of the two identities sharing the
	// new phone (the other links to it); the repeat answers as its first.
	require.False(t, lookups[0].Created)
	require.False(t, lookups[1].Created)
	require.True(t, lookups[2].Created != lookups[3].Created, "one of two identities made the shared contact")
	require.Equal(t, lookups[2].Created, lookups[4].Created)
	require.True(t, lookups[5].Created)

	// The same answers one by one, now that everything exists.
	for _, l := range lookups {
		id, created, err := db.ResolveContact(ctx, l.TenantID, l.Channel, l.ExternalID, l.Name, l.Phone)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, l.ContactID, id)
	}
	var name string
	var contactsA, contactsB int
	require.NoError(t, db.TenantTx(ctx, a, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT name FROM contacts WHERE id = $1`, known).Scan(&name); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&contactsA)
	}))
	require.Equal(t, "Maria", name, "an empty name is filled from the profile")
	require.Equal(t, 1+3, contactsA, "seeded one, plus Maria, Saved and Ana")
	require.NoError(t, db.TenantTx(ctx, b, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&contactsB)
	}))
	require.Equal(t, 1+1, contactsB)
}
