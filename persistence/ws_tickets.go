package persistence

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// RedeemWSTicket records that the WebSocket ticket id was used, once for
// the whole cluster: it answers true the first time and false ever after (a
// replayed ticket). expiresAt is the ticket's own expiry, after which
// PurgeWSTickets may forget it (the ticket is refused by its expiry by then).
//
// The commit does not wait for the WAL flush: every socket open writes one
// of these, and the flush was half the cost of opening a socket. A database
// crash can lose the last few records, which lets those tickets, each
// within its 30 seconds, open one more socket for the user they name;
// that is the whole exposure.
func (db *DB) RedeemWSTicket(ctx context.Context, tenantID, id uuid.UUID, expiresAt time.Time) (bool, error) {
	var first bool
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		// set_config(…, true) is SET LOCAL, in the same round trip.
		tag, err := tx.Exec(ctx, `INSERT INTO ws_tickets_used (tenant_id, id, expires_at)
			SELECT $1, $2, $3 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
			ON CONFLICT (tenant_id, id) DO NOTHING`, tenantID, id, expiresAt)
		first = tag.RowsAffected() == 1
		return err
	})
	return first, translate(err)
}

// PurgeWSTickets forgets the used tickets that expired before now, for every
// tenant (the platform path).
func (db *DB) PurgeWSTickets(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM ws_tickets_used WHERE expires_at < $1`, now)
		n = tag.RowsAffected()
		return err
	})
	return n, translate(err)
}
