package persistence_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// A failing inbox row waits one backoff longer after each failure, is
// dead-lettered at its last attempt (no longer claimed nor counted in the
// depth), is listed for its tenant alone, and a retry makes it pending again
// with no failures, at once stale for any sweeper.
func TestInboxFailuresBackOffThenDeadLetter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant, other := createTenant(t, db, "dead"), createTenant(t, db, "dead-other")
	w := persistence.NewInboxWriter(db, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
	defer w.Close()
	receipts, err := w.Append(ctx, []persistence.InboxEvent{{TenantID: tenant, ConnectionID: crm.NewID(), Provider: "meta",
		DedupeKey: "wamid.1", Event: []byte{0xff}}})
	require.NoError(t, err)
	id := receipts[0].ID
	claimedIn := func() time.Duration {
		var at time.Time
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT claimed_at FROM inbound_events WHERE id = $1`, id).Scan(&at)
		}))
		return time.Until(at)
	}
	failure := persistence.InboxFailure{TenantID: tenant, ID: id, Cause: errors.New("boom\x00"), MaxAttempts: 3, Backoff: time.Hour}

	dead, err := db.RecordInboxFailure(ctx, failure)
	require.NoError(t, err)
	require.False(t, dead)
	require.InDelta(t, 0, claimedIn().Seconds(), 60, "the first retry waits one claim timeout, as before")
	dead, err = db.RecordInboxFailure(ctx, failure)
	require.NoError(t, err)
	require.False(t, dead)
	require.InDelta(t, time.Hour.Seconds(), claimedIn().Seconds(), 60, "the second waits one backoff more")
	depth, err := db.InboxDepth(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, depth)

	dead, err = db.RecordInboxFailure(ctx, failure)
	require.NoError(t, err)
	require.True(t, dead, "the third failure is the last")
	dead, err = db.RecordInboxFailure(ctx, failure)
	require.NoError(t, err)
	require.False(t, dead, "a dead letter is not counted again")

	taken, err := db.ClaimPendingInbox(ctx, time.Now().Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, taken, "dead letters are not swept")
	depth, err = db.InboxDepth(ctx)
	require.NoError(t, err)
	require.Zero(t, depth)
	n, err := db.InboxDeadLetters(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	page, err := db.ListDeadLetters(ctx, tenant, "", 10)
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, 3, page.Items[0].Attempts)
	require.Equal(t, "boom", page.Items[0].LastError)
	require.Equal(t, []byte{0xff}, page.Items[0].Event)
	page, err = db.ListDeadLetters(ctx, other, "", 10)
	require.NoError(t, err)
	require.Empty(t, page.Items)
	_, err = db.RetryDeadLetter(ctx, other, id, persistence.AuditEntry{})
	require.ErrorIs(t, err, crm.ErrNotFound)

	_, err = db.RetryDeadLetter(ctx, tenant, id, persistence.AuditEntry{})
	require.NoError(t, err)
	taken, err = db.ClaimPendingInbox(ctx, time.Now().Add(-15*time.Second), 10)
	require.NoError(t, err)
	require.Len(t, taken, 1, "a retried row is taken by the next sweep")
	require.Zero(t, taken[0].Attempts)
	_, err = db.RetryDeadLetter(ctx, tenant, id, persistence.AuditEntry{})
	require.ErrorIs(t, err, crm.ErrNotFound, "no longer a dead letter")
}

// Pages of dead letters follow each other with the cursor, newest first.
func TestListDeadLettersPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := createTenant(t, db, "dead-pages")
	w := persistence.NewInboxWriter(db, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
	defer w.Close()
	var events []persistence.InboxEvent
	for _, key := range []string{"a", "b", "c", "d", "e"} {
		events = append(events, persistence.InboxEvent{TenantID: tenant, ConnectionID: crm.NewID(), Provider: "meta", DedupeKey: key, Event: []byte{}})
	}
	receipts, err := w.Append(ctx, events)
	require.NoError(t, err)
	for _, r := range receipts {
		dead, err := db.RecordInboxFailure(ctx, persistence.InboxFailure{TenantID: tenant, ID: r.ID, Cause: errors.New("x"), MaxAttempts: 1})
		require.NoError(t, err)
		require.True(t, dead)
	}
	var seen []string
	cursor := ""
	for {
		page, err := db.ListDeadLetters(ctx, tenant, cursor, 2)
		require.NoError(t, err)
		for _, d := range page.Items {
			seen = append(seen, d.DedupeKey)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	require.Equal(t, []string{"e", "d", "c", "b", "a"}, seen)
}
