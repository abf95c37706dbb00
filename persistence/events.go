package persistence

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// AppendTenantEvent gives the event the tenant's next sequence number and
// stores it, inside the caller's transaction. The counter row is locked until
// commit, so sequence numbers are gap-free and in commit order per tenant.
func AppendTenantEvent(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, e *crm.TenantEvent) error {
	err := tx.QueryRow(ctx, `INSERT INTO tenant_event_counters (tenant_id, last_seq) VALUES ($1, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET last_seq = tenant_event_counters.last_seq + 1
		RETURNING last_seq`, tenantID).Scan(&e.Seq)
	if err != nil {
		return translate(err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO tenant_events (tenant_id, seq, type, conversation_id, assignee_id, team_id, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`,
		tenantID, e.Seq, e.Type, e.ConversationID, e.AssigneeID, e.TeamID, string(e.Payload)).Scan(&e.CreatedAt)
	return translate(err)
}

// TenantEventsSince returns up to limit events after seq that the viewer may
// see, plus the last seq examined (so a client that may see none of a long
// run of events still advances).
func (db *DB) TenantEventsSince(ctx context.Context, tenantID uuid.UUID, since int64, limit int, v crm.Visibility) ([]crm.TenantEvent, int64, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	var out []crm.TenantEvent
	last := since
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq, type, conversation_id, assignee_id, team_id, payload::text, created_at
			FROM tenant_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, since, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e crm.TenantEvent
			var payload string
			if err := rows.Scan(&e.Seq, &e.Type, &e.ConversationID, &e.AssigneeID, &e.TeamID, &payload, &e.CreatedAt); err != nil {
				return err
			}
			last = e.Seq
			e.Payload = json.RawMessage(payload)
			if e.ConversationID == nil || v.Sees(e.AssigneeID, e.TeamID) {
				out = append(out, e)
			}
		}
		return rows.Err()
	})
	return out, last, translate(err)
}

// OldestTenantEventSeq is the first seq still kept (older ones may be pruned);
// a resume from before it must reload instead.
func (db *DB) OldestTenantEventSeq(ctx context.Context, tenantID uuid.UUID) (oldest, latest int64, err error) {
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM tenant_events WHERE tenant_id = $1`,
			tenantID).Scan(&oldest, &latest)
	})
	return oldest, latest, translate(err)
}

// PruneTenantEvents deletes events older than the retention, keeping sequence
// numbers (resume from before the oldest kept answers resync_required).
func (db *DB) PruneTenantEvents(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tenant_events WHERE created_at < $1`, olderThan)
		n = tag.RowsAffected()
		return err
	})
	return n, translate(err)
}

// AppendTenantEvents appends several events in two statements: one counter
// update reserving their sequence numbers, one insert of them all.
func AppendTenantEvents(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, events []crm.TenantEvent) error {
	n := len(events)
	switch n {
	case 0:
		return nil
	case 1:
		return AppendTenantEvent(ctx, tx, tenantID, &events[0])
	}
	var last int64
	if err := tx.QueryRow(ctx, `INSERT INTO tenant_event_counters (tenant_id, last_seq) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET last_seq = tenant_event_counters.last_seq + $2
		RETURNING last_seq`, tenantID, int64(n)).Scan(&last); err != nil {
		return translate(err)
	}
	seqs, types, payloads := make([]int64, n), make([]string, n), make([]string, n)
	convs, assignees, teams := make([]*uuid.UUID, n), make([]*uuid.UUID, n), make([]*uuid.UUID, n)
	for i := range events {
		events[i].Seq = last - int64(n) + 1 + int64(i)
		seqs[i], types[i], payloads[i] = events[i].Seq, events[i].Type, string(events[i].Payload)
		convs[i], assignees[i], teams[i] = events[i].ConversationID, events[i].AssigneeID, events[i].TeamID
	}
	var at time.Time
	err := tx.QueryRow(ctx, `WITH ins AS (
		INSERT INTO tenant_events (tenant_id, seq, type, conversation_id, assignee_id, team_id, payload)
		SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::json[])
		RETURNING created_at)
		SELECT min(created_at) FROM ins`, tenantID, seqs, types, convs, assignees, teams, payloads).Scan(&at)
	if err != nil {
		return translate(err)
	}
	for i := range events {
		events[i].CreatedAt = at
	}
	return nil
}

// directoryEventActions names the tenant event of each audited action.
var directoryEventActions = map[string]string{"create": "created", "update": "updated", "delete": "deleted"}

// writeDirectoryChange records a change to a contact, label or quick reply
// inside the caller's transaction: its audit row, then the tenant event
// every open console applies live ("contact.updated", "label.deleted",
// "quick_reply.created", …, by's entity and action) with the record after
// the change, or only its id once deleted. The event names no conversation:
// every user of the tenant reads these. It is appended last, as appending
// takes the tenant's sequence lock until commit; the caller publishes the
// answered event once committed.
func writeDirectoryChange(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	if err := WriteAudit(ctx, tx, tenantID, by); err != nil {
		return crm.TenantEvent{}, err
	}
	var record any = map[string]any{"id": by.EntityID}
	if by.After != nil {
		record = by.After
	}
	payload, err := json.Marshal(record)
	if err != nil {
		return crm.TenantEvent{}, fmt.Errorf("encoding %s event: %w", by.Entity, err)
	}
	ev := crm.TenantEvent{Type: by.Entity + "." + directoryEventActions[by.Action], Payload: payload}
	if err := AppendTenantEvent(ctx, tx, tenantID, &ev); err != nil {
		return crm.TenantEvent{}, err
	}
	return ev, nil
}
