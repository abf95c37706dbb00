package persistence_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// Two writers create a contact with one phone at once: the one that loses
// the race on the unique key gets the same 409 as a plain duplicate, with the
// winner's id (the console links to it).
func TestContactPhoneRaceNamesTheHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := createTenant(t, db, "phone-race")
	phone := "+5511987654321"
	winner := crm.NewID()

	result := make(chan error, 1)
	err := db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone) VALUES ($1, $2, 'Winner', $3)`,
			tenant, winner, phone); err != nil {
			return err
		}
		// The loser checks (sees nothing yet), inserts and waits on the key.
		go func() {
			_, _, err := db.CreateContact(ctx, tenant, persistence.AuditEntry{}, persistence.NewContact{Name: "Loser", Phone: &phone})
			result <- err
		}()
		require.Eventually(t, func() bool {
			var waiting int
			_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
			return waiting > 0
		}, 10*time.Second, 10*time.Millisecond, "the second writer waits on the phone's key")
		return nil // commit: the loser's insert now fails on the key
	})
	require.NoError(t, err)

	err = <-result
	var coded *crm.Error
	require.True(t, errors.As(err, &coded), "%v", err)
	require.ErrorIs(t, coded.Kind, crm.ErrConflict)
	require.Equal(t, "phone", coded.Details["field"])
	require.Equal(t, winner, coded.Details["contact_id"])
}
