package persistence

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// MessageHit is one message a search found, with its conversation as the
// inbox list shows it (contact, assignee), so the console can open the
// conversation at the message.
type MessageHit struct {
	Message      *crm.Message      `json:"message"`
	Conversation *crm.Conversation `json:"conversation"`
}

// searchScanFactor is how many candidates a page reads per item it
// returns: the index finds the tenant's matches, then the viewer's
// visibility drops those in conversations they may not see. A page may come
// back short (even empty) with a next cursor; it never skips a hit.
const searchScanFactor = 4

// SearchMessages finds the messages whose text holds every word of q, each
// as a prefix, accents and case ignored, newest first, in the conversations
// the viewer may see. Matching runs in search_tenant_messages (migration
// 0017: why it is a security-definer function), scoped to this tenant
// transaction's tenant; the rows are read back here under RLS.
func (db *DB) SearchMessages(ctx context.Context, tenantID uuid.UUID, v crm.Visibility, q, cursor string, limit int) (crm.Page[MessageHit], error) {
	page := crm.Page[MessageHit]{Items: []MessageHit{}}
	limit = crm.ClampLimit(limit)
	if !strings.ContainsFunc(q, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return page, nil
	}
	var beforeAt *time.Time
	var beforeID *uuid.UUID
	var at time.Time
	var id uuid.UUID
	if ok, err := crm.DecodeCursor(cursor, &at, &id); err != nil {
		return page, err
	} else if ok {
		beforeAt, beforeID = &at, &id
	}
	scan := limit * searchScanFactor
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		type candidate struct {
			id, conversation uuid.UUID
			at               time.Time
		}
		rows, err := tx.Query(ctx, `SELECT id, created_at, conversation_id FROM search_tenant_messages(search_query($1), $2, $3, $4)`,
			q, beforeAt, beforeID, scan)
		if err != nil {
			return err
		}
		candidates, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (c candidate, err error) {
			err = row.Scan(&c.id, &c.at, &c.conversation)
			return c, err
		})
		if err != nil || len(candidates) == 0 {
			return err
		}
		// The viewer's visible conversations among the candidates'.
		var conversationIDs []uuid.UUID
		for _, c := range candidates {
			conversationIDs = append(conversationIDs, c.conversation)
		}
		args := []any{tenantID, conversationIDs}
		rows, err = tx.Query(ctx, `SELECT `+conversationColumns+conversationConsoleColumns+`
			FROM conversations c`+conversationConsoleJoins+`
			WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) AND `+visibilitySQL(v, &args), args...)
		if err != nil {
			return err
		}
		conversations, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*crm.Conversation, error) { return scanConversation(row, true) })
		if err != nil {
			return err
		}
		visible := map[uuid.UUID]*crm.Conversation{}
		for _, c := range conversations {
			visible[c.ID] = c
		}
		var hits []candidate
		for _, c := range candidates {
			if visible[c.conversation] != nil && len(hits) <= limit {
				hits = append(hits, c)
			}
		}
		var next *candidate
		switch {
		case len(hits) > limit:
			hits = hits[:limit]
			next = &hits[limit-1]
		case len(candidates) == scan:
			// More candidates may follow the ones this viewer could not see.
			next = &candidates[len(candidates)-1]
		}
		if next != nil {
			cursor, err := crm.EncodeCursor(next.at, next.id)
			if err != nil {
				return err
			}
			page.NextCursor = &cursor
		}
		if len(hits) == 0 {
			return nil
		}
		// Each message by its primary key; the partitions are pruned by created_at.
		ids, times := make([]uuid.UUID, len(hits)), make([]time.Time, len(hits))
		for i, h := range hits {
			ids[i], times[i] = h.id, h.at
		}
		rows, err = tx.Query(ctx, `SELECT `+messageColumns+` FROM messages
			WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND created_at = ANY($3::timestamptz[])`, tenantID, ids, times)
		if err != nil {
			return err
		}
		messages, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*crm.Message, error) { return scanMessage(row) })
		if err != nil {
			return err
		}
		byID := map[uuid.UUID]*crm.Message{}
		for _, m := range messages {
			byID[m.ID] = m
		}
		for _, h := range hits {
			if m := byID[h.id]; m != nil {
				page.Items = append(page.Items, MessageHit{Message: m, Conversation: visible[h.conversation]})
			}
		}
		return nil
	})
	if err != nil {
		return crm.Page[MessageHit]{Items: []MessageHit{}}, translate(err)
	}
	return page, nil
}
