package persistence

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClaimPendingInbox takes up to limit unprocessed inbox rows whose claim is
// older than staleBefore (their node died, or dropped them when overloaded),
// oldest first, and claims them for the caller. Rows another sweeper is
// claiming at the same moment are skipped, not waited for. It is the
// sweeper's system path across tenants; each row is then processed in its
// tenant's transaction.
func (db *DB) ClaimPendingInbox(ctx context.Context, staleBefore time.Time, limit int) ([]PendingInboxEvent, error) {
	var out []PendingInboxEvent
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE inbound_events e SET claimed_at = now()
			FROM (SELECT tenant_id, id FROM inbound_events
			      WHERE processed_at IS NULL AND claimed_at < $1
			      ORDER BY claimed_at LIMIT $2 FOR UPDATE SKIP LOCKED) stale
			WHERE e.tenant_id = stale.tenant_id AND e.id = stale.id
			RETURNING e.tenant_id, e.id, e.connection_id, e.provider, e.kind, e.dedupe_key, e.event, e.payload::text, e.received_at, e.attempts`,
			staleBefore, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e PendingInboxEvent
			var payload *string
			if err := rows.Scan(&e.TenantID, &e.ID, &e.ConnectionID, &e.Provider, &e.Kind, &e.DedupeKey, &e.Event, &payload,
				&e.ReceivedAt, &e.Attempts); err != nil {
				return err
			}
			if payload != nil {
				e.PayloadJSON = []byte(*payload)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, translate(err)
}
