package persistence_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestClaimPendingInboxTakesOnlyStaleClaims: a busy node's fresh claims are
// left alone; rows whose claim went stale are taken once, by one sweeper.
func TestClaimPendingInboxTakesOnlyStaleClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := createTenant(t, db, "claims")
	conn := crm.NewID()
	w := persistence.NewInboxWriter(db, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
	defer w.Close()
	var events []persistence.InboxEvent
	for _, key := range []string{"a", "b", "c"} {
		events = append(events, persistence.InboxEvent{TenantID: tenant, ConnectionID: conn, Provider: "meta", DedupeKey: key, Event: []byte(`{}`)})
	}
	receipts, err := w.Append(ctx, events)
	require.NoError(t, err)

	taken, err := db.ClaimPendingInbox(ctx, time.Now().Add(-15*time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, taken, "fresh claims are the receiving node's")

	// Age two claims as if their node died; one row is processed meanwhile.
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE inbound_events SET claimed_at = now() - interval '1 minute'`); err != nil {
			return err
		}
		return persistence.MarkInboxProcessed(ctx, tx, tenant, receipts[0].ID)
	}))
	taken, err = db.ClaimPendingInbox(ctx, time.Now().Add(-15*time.Second), 10)
	require.NoError(t, err)
	require.Len(t, taken, 2)
	again, err := db.ClaimPendingInbox(ctx, time.Now().Add(-15*time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, again, "a claimed row is not handed out twice")
}
