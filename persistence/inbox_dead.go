package persistence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// InboxFailure is one failed processing attempt of an inbox row.
type InboxFailure struct {
	TenantID, ID uuid.UUID
	Cause        error
	// MaxAttempts dead-letters the row when its failures reach this many;
	// 0 or less never does.
	MaxAttempts int
	// Backoff delays the row's next attempt by this much more after each
	// failure: the sweeper takes it again only once its claim, moved
	// (failures - 1) × Backoff ahead, has gone stale.
	Backoff time.Duration
}

// RecordInboxFailure counts a failed processing attempt and reports whether
// it dead-lettered the row (see migration 0013). A row processed meanwhile,
// or dead already, is left alone.
func (db *DB) RecordInboxFailure(ctx context.Context, f InboxFailure) (dead bool, err error) {
	msg := ""
	if f.Cause != nil {
		msg = crm.StorableText(f.Cause.Error())
	}
	if len(msg) > 1000 {
		msg = crm.StorableText(msg[:1000]) // not a rune cut in half
	}
	err = db.TenantTx(ctx, f.TenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE inbound_events SET attempts = attempts + 1, last_error = $3,
				claimed_at = now() + make_interval(secs => $5::float8 * attempts),
				dead_at = CASE WHEN $4::int > 0 AND attempts + 1 >= $4::int THEN now() END
			WHERE tenant_id = $1 AND id = $2 AND dead_at IS NULL
			RETURNING dead_at IS NOT NULL`, f.TenantID, f.ID, msg, f.MaxAttempts, f.Backoff.Seconds()).Scan(&dead)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return dead, translate(err)
}

// DeadLetter is an inbox row dead-lettered after its last failed attempt.
type DeadLetter struct {
	ID           uuid.UUID `json:"id"`
	ConnectionID uuid.UUID `json:"connection_id"`
	Provider     string    `json:"provider"`
	Kind         string    `json:"kind"`
	DedupeKey    string    `json:"dedupe_key"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"last_error"`
	ReceivedAt   time.Time `json:"received_at"`
	DeadAt       time.Time `json:"dead_at"`
	// Event and PayloadJSON hold the stored event, as in PendingInboxEvent.
	Event       []byte `json:"-"`
	PayloadJSON []byte `json:"-"`
}

// ListDeadLetters returns one page of the tenant's dead letters, the most
// recently dead-lettered first.
func (db *DB) ListDeadLetters(ctx context.Context, tenantID uuid.UUID, cursor string, limit int) (crm.Page[DeadLetter], error) {
	var afterAt time.Time
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(cursor, &afterAt, &afterID)
	if err != nil {
		return crm.Page[DeadLetter]{}, err
	}
	limit = crm.ClampLimit(limit)
	page := crm.Page[DeadLetter]{Items: []DeadLetter{}}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deadLetterColumns+` FROM inbound_events
			WHERE tenant_id = $1 AND dead_at IS NOT NULL AND (NOT $2 OR (dead_at, id) < ($3, $4))
			ORDER BY dead_at DESC, id DESC LIMIT $5`, tenantID, hasCursor, afterAt, afterID, limit+1)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (DeadLetter, error) { return scanDeadLetter(row) })
		return err
	})
	if err != nil {
		return crm.Page[DeadLetter]{}, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		next, err := crm.EncodeCursor(last.DeadAt, last.ID)
		if err != nil {
			return crm.Page[DeadLetter]{}, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// RetryDeadLetter puts a dead letter back in the inbox as a pending event
// with no failed attempts; any node's next sweep takes it (its claim is
// made stale at once). It returns the row as it was dead.
func (db *DB) RetryDeadLetter(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (DeadLetter, error) {
	var out DeadLetter
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanDeadLetter(tx.QueryRow(ctx, `SELECT `+deadLetterColumns+` FROM inbound_events
			WHERE tenant_id = $1 AND id = $2 AND dead_at IS NOT NULL FOR UPDATE`, tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("dead_letter")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE inbound_events SET dead_at = NULL, attempts = 0, last_error = '',
				claimed_at = to_timestamp(0)
			WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "retry", "inbox_event", id, out, map[string]any{"status": "pending"}
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// InboxDeadLetters counts the dead letters of every tenant (for metrics).
func (db *DB) InboxDeadLetters(ctx context.Context) (int64, error) {
	var n int64
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events WHERE dead_at IS NOT NULL`).Scan(&n)
	})
	return n, translate(err)
}

const deadLetterColumns = `id, connection_id, provider, kind, dedupe_key, attempts, last_error, received_at, dead_at,
	event, payload::text`

func scanDeadLetter(row pgx.Row) (DeadLetter, error) {
	var d DeadLetter
	var payload *string
	if err := row.Scan(&d.ID, &d.ConnectionID, &d.Provider, &d.Kind, &d.DedupeKey, &d.Attempts, &d.LastError,
		&d.ReceivedAt, &d.DeadAt, &d.Event, &payload); err != nil {
		return d, fmt.Errorf("scanning a dead letter: %w", err)
	}
	if payload != nil {
		d.PayloadJSON = []byte(*payload)
	}
	return d, nil
}
