package persistence_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence/pgtest"
)

// A socket ticket opens one socket cluster-wide: its id is recorded once;
// records are forgotten only after the ticket has expired.
func TestRedeemWSTicketOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	a, b := createTenant(t, db, "ticket-a"), createTenant(t, db, "ticket-b")
	now := time.Now()
	id := crm.NewID()

	first, err := db.RedeemWSTicket(ctx, a, id, now.Add(30*time.Second))
	require.NoError(t, err)
	require.True(t, first)
	again, err := db.RedeemWSTicket(ctx, a, id, now.Add(30*time.Second))
	require.NoError(t, err)
	require.False(t, again, "a ticket is spent once")
	other, err := db.RedeemWSTicket(ctx, b, id, now.Add(30*time.Second))
	require.NoError(t, err)
	require.True(t, other, "tenants' records do not meet")

	gone, err := db.PurgeWSTickets(ctx, now)
	require.NoError(t, err)
	require.Zero(t, gone, "a live ticket's record stays")
	gone, err = db.PurgeWSTickets(ctx, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(2), gone)
}
