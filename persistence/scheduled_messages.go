package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Scheduled messages: the row and its durable job (crm.ScheduledSend) are
// inserted, moved and cancelled in one transaction, so a message exists
// with its job or not at all.

const scheduledColumns = `id, connection_id, contact_id, conversation_id, message, send_at, status, sent_message_id,
	error, created_by, created_at, updated_at`

func scanScheduled(row pgx.Row) (crm.ScheduledMessage, error) {
	var m crm.ScheduledMessage
	var content []byte
	if err := row.Scan(&m.ID, &m.ConnectionID, &m.ContactID, &m.ConversationID, &content, &m.SendAt, &m.Status,
		&m.SentMessageID, &m.Error, &m.CreatedBy, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return m, err
	}
	if err := json.Unmarshal(content, &m.Message); err != nil {
		return m, fmt.Errorf("scheduled message %s content: %w", m.ID, err)
	}
	return m, nil
}

// NewScheduledMessage is a message to schedule: to a conversation, or to a
// contact on a connection.
type NewScheduledMessage struct {
	ConversationID *uuid.UUID
	ConnectionID   uuid.UUID
	ContactID      uuid.UUID
	Message        crm.ScheduledContent
	SendAt         time.Time
	CreatedBy      *uuid.UUID
}

func (db *DB) scheduleJob(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, m crm.ScheduledMessage) error {
	if db.jobs == nil {
		return errors.New("no job client: messages cannot be scheduled on this node")
	}
	return db.jobs.InsertTx(ctx, tx, crm.ScheduledSend{TenantID: tenantID, ID: m.ID, SendAt: m.SendAt.UTC()}, JobOpts{RunAt: m.SendAt})
}

// CreateScheduledMessage stores the message and its job. With a
// conversation, its connection and contact are the conversation's (crm's
// not-found error when the tenant has no such conversation).
func (db *DB) CreateScheduledMessage(ctx context.Context, tenantID uuid.UUID, in NewScheduledMessage) (crm.ScheduledMessage, error) {
	var out crm.ScheduledMessage
	content, err := json.Marshal(in.Message)
	if err != nil {
		return out, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if in.ConversationID != nil {
			err := tx.QueryRow(ctx, `SELECT connection_id, contact_id FROM conversations WHERE tenant_id = $1 AND id = $2`,
				tenantID, *in.ConversationID).Scan(&in.ConnectionID, &in.ContactID)
			if errors.Is(err, pgx.ErrNoRows) {
				return crm.NotFound("conversation")
			}
			if err != nil {
				return err
			}
		} else {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2)
				AND EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1 AND id = $3)`, tenantID, in.ConnectionID, in.ContactID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return crm.NotFound("contact or connection")
			}
		}
		var err error
		out, err = scanScheduled(tx.QueryRow(ctx, `INSERT INTO scheduled_messages (tenant_id, id, connection_id, contact_id,
				conversation_id, message, send_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+scheduledColumns,
			tenantID, crm.NewID(), in.ConnectionID, in.ContactID, in.ConversationID, content, in.SendAt, in.CreatedBy))
		if err != nil {
			return err
		}
		return db.scheduleJob(ctx, tx, tenantID, out)
	})
	return out, translate(err)
}

// GetScheduledMessage reads one.
func (db *DB) GetScheduledMessage(ctx context.Context, tenantID, id uuid.UUID) (crm.ScheduledMessage, error) {
	var out crm.ScheduledMessage
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanScheduled(tx.QueryRow(ctx, `SELECT `+scheduledColumns+` FROM scheduled_messages
			WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("scheduled message")
		}
		return err
	})
	return out, translate(err)
}

// ScheduledFilter narrows the list.
type ScheduledFilter struct {
	ConversationID *uuid.UUID
	ContactID      *uuid.UUID
	CreatedBy      *uuid.UUID
	Status         string
	Cursor         string
	Limit          int
}

// ListScheduledMessages lists by send time, soonest first.
func (db *DB) ListScheduledMessages(ctx context.Context, tenantID uuid.UUID, f ScheduledFilter) (crm.Page[crm.ScheduledMessage], error) {
	page := crm.Page[crm.ScheduledMessage]{Items: []crm.ScheduledMessage{}}
	limit := crm.ClampLimit(f.Limit)
	var afterAt time.Time
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(f.Cursor, &afterAt, &afterID)
	if err != nil {
		return page, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+scheduledColumns+` FROM scheduled_messages
			WHERE tenant_id = $1 AND ($2::uuid IS NULL OR conversation_id = $2) AND ($3::uuid IS NULL OR contact_id = $3)
			  AND ($4 = '' OR status = $4) AND (NOT $5 OR (send_at, id) > ($6, $7)) AND ($9::uuid IS NULL OR created_by = $9)
			ORDER BY send_at, id LIMIT $8`, tenantID, f.ConversationID, f.ContactID, f.Status, hasCursor, afterAt, afterID, limit+1, f.CreatedBy)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.ScheduledMessage, error) { return scanScheduled(r) })
		return err
	})
	if err != nil {
		return page, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		next, err := crm.EncodeCursor(last.SendAt, last.ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// ScheduledPatch changes a pending message.
type ScheduledPatch struct {
	Message *crm.ScheduledContent
	SendAt  *time.Time
}

// UpdateScheduledMessage changes a pending message; a new time gets a new
// job (the old one finds the time changed and does nothing). crm's conflict
// error (not_pending) when it was sent, cancelled or failed meanwhile.
func (db *DB) UpdateScheduledMessage(ctx context.Context, tenantID, id uuid.UUID, patch ScheduledPatch) (crm.ScheduledMessage, error) {
	var out crm.ScheduledMessage
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		cur, err := scanScheduled(tx.QueryRow(ctx, `SELECT `+scheduledColumns+` FROM scheduled_messages
			WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("scheduled message")
		}
		if err != nil {
			return err
		}
		if cur.Status != "pending" {
			return crm.NewError(crm.ErrConflict, "not_pending", "the message was already "+cur.Status, nil)
		}
		if patch.Message != nil {
			cur.Message = *patch.Message
		}
		moved := patch.SendAt != nil && !patch.SendAt.Equal(cur.SendAt)
		if patch.SendAt != nil {
			cur.SendAt = *patch.SendAt
		}
		content, err := json.Marshal(cur.Message)
		if err != nil {
			return err
		}
		if out, err = scanScheduled(tx.QueryRow(ctx, `UPDATE scheduled_messages SET message = $3, send_at = $4, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING `+scheduledColumns, tenantID, id, content, cur.SendAt)); err != nil {
			return err
		}
		if moved {
			return db.scheduleJob(ctx, tx, tenantID, out)
		}
		return nil
	})
	return out, translate(err)
}

// CancelScheduledMessage cancels a pending message (its job then does
// nothing); not_pending when it is no longer pending.
func (db *DB) CancelScheduledMessage(ctx context.Context, tenantID, id uuid.UUID) (crm.ScheduledMessage, error) {
	return db.finishScheduled(ctx, tenantID, id, "cancelled", nil, nil)
}

// FinishScheduledMessage records a pending message's outcome: sent (with
// the message it became) or failed (with the reason). A message no longer
// pending is left as it is and answered (a job run twice).
func (db *DB) FinishScheduledMessage(ctx context.Context, tenantID, id uuid.UUID, status string, messageID *uuid.UUID, reason json.RawMessage) (crm.ScheduledMessage, error) {
	return db.finishScheduled(ctx, tenantID, id, status, messageID, reason)
}

func (db *DB) finishScheduled(ctx context.Context, tenantID, id uuid.UUID, status string, messageID *uuid.UUID, reason json.RawMessage) (crm.ScheduledMessage, error) {
	var out crm.ScheduledMessage
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanScheduled(tx.QueryRow(ctx, `UPDATE scheduled_messages SET status = $3, sent_message_id = $4, error = $5,
				updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'pending' RETURNING `+scheduledColumns, tenantID, id, status, messageID, reason))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		out, err = scanScheduled(tx.QueryRow(ctx, `SELECT `+scheduledColumns+` FROM scheduled_messages
			WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("scheduled message")
		}
		if err == nil && status == "cancelled" {
			return crm.NewError(crm.ErrConflict, "not_pending", "the message was already "+out.Status, nil)
		}
		return err
	})
	return out, translate(err)
}
