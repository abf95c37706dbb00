package persistence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// QuickReply is a canned answer agents insert by typing /shortcut.
type QuickReply struct {
	ID        uuid.UUID  `json:"id"`
	Shortcut  string     `json:"shortcut"`
	Title     string     `json:"title"`
	Text      string     `json:"text"`
	MediaID   *uuid.UUID `json:"media_id"`
	CreatedBy *uuid.UUID `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// NewQuickReply is a validated quick reply to create.
type NewQuickReply struct {
	Shortcut string // without the leading slash
	Title    string
	Text     string
	MediaID  *uuid.UUID
}

// QuickReplyPatch changes only the fields that are not nil. SetMediaID says
// MediaID was given; a nil MediaID then removes the media.
type QuickReplyPatch struct {
	Shortcut   *string
	Title      *string
	Text       *string
	SetMediaID bool
	MediaID    *uuid.UUID
}

// QuickReplyFilter selects a page of quick replies.
type QuickReplyFilter struct {
	Q      string // shortcut starts with Q, or title contains Q (case-insensitive)
	Cursor string
	Limit  int
}

const quickReplyColumns = `q.id, q.shortcut, q.title, q.text, q.media_id, q.created_by, q.created_at, q.updated_at`

const quickReplyShortcutConstraint = "quick_replies_tenant_id_shortcut_key"

func scanQuickReply(row pgx.Row) (QuickReply, error) {
	var q QuickReply
	err := row.Scan(&q.ID, &q.Shortcut, &q.Title, &q.Text, &q.MediaID, &q.CreatedBy, &q.CreatedAt, &q.UpdatedAt)
	return q, err
}

func loadQuickReply(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (QuickReply, error) {
	query := `SELECT ` + quickReplyColumns + ` FROM quick_replies q WHERE q.tenant_id = $1 AND q.id = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	q, err := scanQuickReply(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return q, crm.NotFound("quick reply")
	}
	return q, err
}

// checkQuickReplyBody refuses a reply that would send nothing, and media of
// another tenant or that does not exist.
func checkQuickReplyBody(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, text string, mediaID *uuid.UUID) error {
	if mediaID == nil {
		if strings.TrimSpace(text) == "" {
			fields := crm.FieldErrors{}
			fields.Add("text", "is required when there is no media_id")
			return fields.Err()
		}
		return nil
	}
	return directoryCheckIDs(ctx, tx, tenantID, "media", "media_id", "media", []uuid.UUID{*mediaID})
}

// CreateQuickReply stores a quick reply created by by.Actor, and answers
// the quick_reply.created event appended with it (see writeDirectoryChange).
func (db *DB) CreateQuickReply(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewQuickReply) (QuickReply, crm.TenantEvent, error) {
	var out QuickReply
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := checkQuickReplyBody(ctx, tx, tenantID, in.Text, in.MediaID); err != nil {
			return err
		}
		var createdBy *uuid.UUID
		if by.Actor.UserID != uuid.Nil {
			createdBy = &by.Actor.UserID
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO quick_replies (tenant_id, id, shortcut, title, text, media_id, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, id, in.Shortcut, in.Title, in.Text, in.MediaID, createdBy); err != nil {
			return directoryConflict(err, quickReplyShortcutConstraint, "shortcut", "a quick reply with this shortcut already exists")
		}
		var err error
		if out, err = loadQuickReply(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "quick_reply", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// GetQuickReply loads one quick reply of the tenant.
func (db *DB) GetQuickReply(ctx context.Context, tenantID, id uuid.UUID) (QuickReply, error) {
	var out QuickReply
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadQuickReply(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// ListQuickReplies returns one page of quick replies ordered by shortcut.
func (db *DB) ListQuickReplies(ctx context.Context, tenantID uuid.UUID, f QuickReplyFilter) (crm.Page[QuickReply], error) {
	var afterShortcut string
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(f.Cursor, &afterShortcut, &afterID)
	if err != nil {
		return crm.Page[QuickReply]{}, err
	}
	limit := crm.ClampLimit(f.Limit)
	where := []string{"q.tenant_id = $1"}
	args := []any{tenantID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q := strings.TrimSpace(f.Q); q != "" {
		prefix := strings.ToLower(strings.TrimPrefix(q, "/"))
		where = append(where, "(q.shortcut LIKE "+arg(escapeLike(prefix)+"%")+
			" OR q.title ILIKE "+arg("%"+escapeLike(q)+"%")+")")
	}
	if hasCursor {
		where = append(where, "(q.shortcut, q.id) > ("+arg(afterShortcut)+", "+arg(afterID)+")")
	}
	query := `SELECT ` + quickReplyColumns + ` FROM quick_replies q WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY q.shortcut, q.id LIMIT ` + arg(limit+1)
	page := crm.Page[QuickReply]{Items: []QuickReply{}}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (QuickReply, error) { return scanQuickReply(row) })
		return err
	})
	if err != nil {
		return crm.Page[QuickReply]{}, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		next, err := crm.EncodeCursor(last.Shortcut, last.ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// UpdateQuickReply applies the patch, and answers the quick_reply.updated
// event appended with it (none when the patch changes nothing).
func (db *DB) UpdateQuickReply(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch QuickReplyPatch) (QuickReply, crm.TenantEvent, error) {
	var out QuickReply
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadQuickReply(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if patch.Shortcut == nil && patch.Title == nil && patch.Text == nil && !patch.SetMediaID {
			out = before
			return nil
		}
		text, mediaID := before.Text, before.MediaID
		set := []string{}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.Shortcut != nil {
			set = append(set, "shortcut = "+arg(*patch.Shortcut))
		}
		if patch.Title != nil {
			set = append(set, "title = "+arg(*patch.Title))
		}
		if patch.Text != nil {
			text = *patch.Text
			set = append(set, "text = "+arg(text))
		}
		if patch.SetMediaID {
			mediaID = patch.MediaID
			set = append(set, "media_id = "+arg(mediaID))
		}
		if patch.Text != nil || patch.SetMediaID {
			if err := checkQuickReplyBody(ctx, tx, tenantID, text, mediaID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE quick_replies SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`,
			args...); err != nil {
			return directoryConflict(err, quickReplyShortcutConstraint, "shortcut", "a quick reply with this shortcut already exists")
		}
		if out, err = loadQuickReply(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "quick_reply", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// DeleteQuickReply removes a quick reply, and answers the
// quick_reply.deleted event appended with it.
func (db *DB) DeleteQuickReply(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadQuickReply(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM quick_replies WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "quick_reply", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}
