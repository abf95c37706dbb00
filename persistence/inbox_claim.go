package persistence

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ClaimPendingInbox takes up to limit unprocessed inbox rows (dead letters
// aside) whose claim is older than staleBefore (their node died, or dropped
// them when overloaded, or their last attempt failed), oldest first, and
// claims them for the caller. Rows another sweeper is
// claiming at the same moment are skipped, not waited for. It is the
// sweeper's system path across tenants; each row is then processed in its
// tenant's transaction.
func (db *DB) ClaimPendingInbox(ctx context.Context, staleBefore time.Time, limit int) ([]PendingInboxEvent, error) {
	var out []PendingInboxEvent
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE inbound_events e SET claimed_at = now()
			FROM (SELECT tenant_id, id FROM inbound_events
			      WHERE processed_at IS NULL AND dead_at IS NULL AND claimed_at < $1
			      ORDER BY claimed_at LIMIT $2 FOR UPDATE SKIP LOCKED) stale
			WHERE e.tenant_id = stale.tenant_id AND e.id = stale.id
			RETURNING `+pendingInboxColumns, staleBefore, limit)
		if err != nil {
			return err
		}
		out, err = scanPendingInbox(rows)
		return err
	})
	return out, translate(err)
}

const pendingInboxColumns = `e.tenant_id, e.id, e.connection_id, e.provider, e.kind, e.dedupe_key, e.event, e.payload::text,
	e.received_at, e.attempts`

func scanPendingInbox(rows pgx.Rows) ([]PendingInboxEvent, error) {
	defer rows.Close()
	var out []PendingInboxEvent
	for rows.Next() {
		var e PendingInboxEvent
		var payload *string
		if err := rows.Scan(&e.TenantID, &e.ID, &e.ConnectionID, &e.Provider, &e.Kind, &e.DedupeKey, &e.Event, &payload,
			&e.ReceivedAt, &e.Attempts); err != nil {
			return nil, err
		}
		if payload != nil {
			e.PayloadJSON = []byte(*payload)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// InboxKey names one inbox row.
type InboxKey struct {
	TenantID, ID uuid.UUID
}

// ReclaimInbox claims again the named inbox rows that are still
// unprocessed and returns them in the order of keys: the rows a dispatch
// shard deferred when its queue stayed full, taken back by that shard in
// the order they arrived, long before their claim would time out. Rows
// processed meanwhile are simply absent.
func (db *DB) ReclaimInbox(ctx context.Context, keys []InboxKey) ([]PendingInboxEvent, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	tenants, ids := make([]uuid.UUID, len(keys)), make([]uuid.UUID, len(keys))
	for i, k := range keys {
		tenants[i], ids[i] = k.TenantID, k.ID
	}
	var out []PendingInboxEvent
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH taken AS (
				UPDATE inbound_events e SET claimed_at = now()
				FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS u(tenant, id, pos)
				WHERE e.tenant_id = u.tenant AND e.id = u.id AND e.processed_at IS NULL AND e.dead_at IS NULL
				RETURNING u.pos, `+pendingInboxColumns+`)
			SELECT tenant_id, id, connection_id, provider, kind, dedupe_key, event, payload, received_at, attempts
			FROM taken ORDER BY pos`, tenants, ids)
		if err != nil {
			return err
		}
		out, err = scanPendingInbox(rows)
		return err
	})
	return out, translate(err)
}
