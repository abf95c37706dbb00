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

// ErrFenced means another activation of the same conversation wrote first: the
// caller's copy is stale and must stop (DESIGN §3, disthash duplicates).
var ErrFenced = errors.New("conversation was written by another activation")

const conversationColumns = `c.id, c.tenant_id, c.connection_id, c.contact_id, c.channel, c.status, c.assignee_id, c.team_id,
	c.subject, c.unread_count, c.last_seq, c.version, c.last_message_at, c.last_message_preview, c.last_message_direction,
	c.last_inbound_at, c.window_expires_at, c.first_response_at, c.bot_active, c.over_limit, c.last_activity_at,
	c.resolved_at, c.created_at, c.updated_at,
	coalesce((SELECT array_agg(l.label_id ORDER BY l.label_id) FROM conversation_labels l
	          WHERE l.tenant_id = c.tenant_id AND l.conversation_id = c.id), '{}')`

func scanConversation(row pgx.Row, withContact bool) (*crm.Conversation, error) {
	c := &crm.Conversation{}
	dest := []any{&c.ID, &c.TenantID, &c.ConnectionID, &c.ContactID, &c.Channel, &c.Status, &c.AssigneeID, &c.TeamID,
		&c.Subject, &c.UnreadCount, &c.LastSeq, &c.Version, &c.LastMessageAt, &c.LastMessagePreview,
		&c.LastMessageDirection, &c.LastInboundAt, &c.WindowExpiresAt, &c.FirstResponseAt, &c.BotActive, &c.OverLimit,
		&c.LastActivityAt, &c.ResolvedAt, &c.CreatedAt, &c.UpdatedAt, &c.LabelIDs}
	var sender crm.ConversationSender
	var found bool
	if withContact {
		c.Contact = &crm.ConversationContact{}
		dest = append(dest, &c.Contact.ID, &c.Contact.Name, &c.Contact.Phone, &c.Contact.AvatarURL,
			&found, &sender.UserID, &sender.Via, &sender.Name)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if found {
		c.LastMessageSender = &sender
	}
	return c, nil
}

// conversationConsoleColumns and conversationConsoleJoins add what the
// console's list and header show beside the row: the contact and the author
// of the last message when it is outbound (read with the rows, from the
// (tenant_id, conversation_id, seq) index, so the list stays one query).
const conversationConsoleColumns = `, ct.id, ct.name, ct.phone, ct.avatar_url,
	ls.via IS NOT NULL, ls.sent_by, coalesce(ls.via, ''), coalesce(lu.name, '')`

const conversationConsoleJoins = ` JOIN contacts ct ON ct.tenant_id = c.tenant_id AND ct.id = c.contact_id
	LEFT JOIN LATERAL (SELECT m.sent_by, m.via FROM messages m
		WHERE c.last_message_direction = 'outbound' AND m.tenant_id = c.tenant_id AND m.conversation_id = c.id
		  AND m.direction = 'outbound' AND m.type <> 'system'
		ORDER BY m.seq DESC LIMIT 1) ls ON true
	LEFT JOIN users lu ON lu.tenant_id = c.tenant_id AND lu.id = ls.sent_by`

// ResolveContact finds the contact behind a channel identity (wa_id, PSID,
// IGSID), creating contact and identity on first sight. Concurrent first
// messages from one person resolve to one contact.
func (db *DB) ResolveContact(ctx context.Context, tenantID uuid.UUID, channel, externalID, displayName, phone string) (uuid.UUID, bool, error) {
	id, created, err := db.resolveContact(ctx, tenantID, channel, externalID, displayName, phone)
	var coded *crm.Error
	if errors.As(err, &coded) && coded.Kind == crm.ErrConflict {
		// A unique race across transactions (or a deadlock): the other one
		// committed, and a second try reads its row. A conflict that
		// outlasts it is not a race: it is returned, not retried forever.
		id, created, err = db.resolveContact(ctx, tenantID, channel, externalID, displayName, phone)
		if err != nil {
			return uuid.Nil, false, fmt.Errorf("resolving a %s contact, tried twice: %w", channel, err)
		}
	}
	return id, created, err
}

func (db *DB) resolveContact(ctx context.Context, tenantID uuid.UUID, channel, externalID, displayName, phone string) (uuid.UUID, bool, error) {
	var contactID uuid.UUID
	created := false
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT contact_id FROM contact_identities WHERE tenant_id = $1 AND channel = $2 AND external_id = $3`,
			tenantID, channel, externalID).Scan(&contactID)
		if err == nil {
			if displayName != "" {
				_, err = tx.Exec(ctx, `UPDATE contacts SET name = $3 WHERE tenant_id = $1 AND id = $2 AND name = ''`,
					tenantID, contactID, truncateRunes(displayName, 200))
			}
			return err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// A customer's message is never refused for the contacts quota: the
		// contact is counted, over the limit if need be.
		if err := AllowOverLimit(ctx, tx); err != nil {
			return err
		}
		// A WhatsApp identity may match a contact an agent created by phone.
		var existing uuid.UUID
		if phone != "" {
			err = tx.QueryRow(ctx, `SELECT id FROM contacts WHERE tenant_id = $1 AND phone = $2`, tenantID, phone).Scan(&existing)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if existing == uuid.Nil {
			existing = crm.NewID()
			var phoneArg *string
			if phone != "" {
				phoneArg = &phone
			}
			tag, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, phone) DO NOTHING`, tenantID, existing, truncateRunes(displayName, 200), phoneArg)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				if err := tx.QueryRow(ctx, `SELECT id FROM contacts WHERE tenant_id = $1 AND phone = $2`, tenantID, phone).Scan(&existing); err != nil {
					return err
				}
			} else {
				created = true
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO contact_identities (tenant_id, id, contact_id, channel, external_id, display_name)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, channel, external_id) DO NOTHING`,
			tenantID, crm.NewID(), existing, channel, externalID, truncateRunes(displayName, 200))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 { // lost a race: use the winner's contact
			created = false
			return tx.QueryRow(ctx, `SELECT contact_id FROM contact_identities WHERE tenant_id = $1 AND channel = $2 AND external_id = $3`,
				tenantID, channel, externalID).Scan(&contactID)
		}
		contactID = existing
		return nil
	})
	if err != nil {
		return uuid.Nil, false, translate(err)
	}
	return contactID, created, nil
}

// currentConversationSQL selects the live conversation of ($1 tenant, $2
// connection, $3 contact).
const currentConversationSQL = `SELECT ` + conversationColumns + ` FROM conversations c
	WHERE c.tenant_id = $1 AND c.connection_id = $2 AND c.contact_id = $3 AND c.status <> 'archived'`

// CurrentConversation loads the live (not archived) conversation of a
// connection and contact, or nil when there is none.
func CurrentConversation(ctx context.Context, tx pgx.Tx, tenantID, connectionID, contactID uuid.UUID) (*crm.Conversation, error) {
	c, err := scanConversation(tx.QueryRow(ctx, currentConversationSQL, tenantID, connectionID, contactID), false)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return c, translate(err)
}

// InsertConversation stores a new conversation at version 1.
func InsertConversation(ctx context.Context, tx pgx.Tx, c *crm.Conversation) error {
	if c.ID == uuid.Nil {
		c.ID = crm.NewID()
	}
	if c.Status == "" {
		c.Status = crm.ConversationOpen
	}
	c.Version = 1
	// over_limit is flagged by the statement's counting trigger, after the
	// row is in: it is read back in the same round trip.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, status, assignee_id,
		team_id, unread_count, last_seq, version, last_message_at, last_message_preview, last_message_direction,
		last_inbound_at, window_expires_at, bot_active, last_activity_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $14, $15, $16, coalesce($11, now()))`,
		c.TenantID, c.ID, c.ConnectionID, c.ContactID, c.Channel, c.Status, c.AssigneeID, c.TeamID, c.UnreadCount,
		c.LastSeq, c.LastMessageAt, c.LastMessagePreview, c.LastMessageDirection, c.LastInboundAt, c.WindowExpiresAt,
		c.BotActive)
	b.Queue(`SELECT created_at, updated_at, last_activity_at, over_limit FROM conversations WHERE tenant_id = $1 AND id = $2`,
		c.TenantID, c.ID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&c.CreatedAt, &c.UpdatedAt, &c.LastActivityAt, &c.OverLimit)
	})
	return translate(tx.SendBatch(ctx, b).Close())
}

// SaveConversation writes the grain's state fenced on its version: if another
// activation saved since this copy was loaded, nothing is written and
// ErrFenced is returned. On success c.Version is the new version.
func SaveConversation(ctx context.Context, tx pgx.Tx, c *crm.Conversation) error {
	tag, err := tx.Exec(ctx, `UPDATE conversations SET status = $4, assignee_id = $5, team_id = $6, unread_count = $7,
		last_seq = $8, version = version + 1, last_message_at = $9, last_message_preview = $10,
		last_message_direction = $11, last_inbound_at = $12, window_expires_at = $13, first_response_at = $14,
		bot_active = $15, last_activity_at = $16, resolved_at = $17, subject = $18
		WHERE tenant_id = $1 AND id = $2 AND version = $3`,
		c.TenantID, c.ID, c.Version, c.Status, c.AssigneeID, c.TeamID, c.UnreadCount, c.LastSeq, c.LastMessageAt,
		c.LastMessagePreview, c.LastMessageDirection, c.LastInboundAt, c.WindowExpiresAt, c.FirstResponseAt,
		c.BotActive, c.LastActivityAt, c.ResolvedAt, c.Subject)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("saving conversation %s at version %d: %w", c.ID, c.Version, ErrFenced)
	}
	c.Version++
	return nil
}

// ConversationFilter narrows the inbox list.
type ConversationFilter struct {
	Status       []string
	AssigneeID   *uuid.UUID
	Unassigned   bool
	TeamID       *uuid.UUID
	LabelID      *uuid.UUID
	ConnectionID *uuid.UUID
	ContactID    *uuid.UUID
	Query        string
	Cursor       string
	Limit        int
}

// visibilitySQL is crm.Visibility.Sees in SQL, with arguments appended to args.
func visibilitySQL(v crm.Visibility, args *[]any) string {
	if v.All {
		return "true"
	}
	*args = append(*args, v.UserID, v.TeamIDs)
	me, teams := len(*args)-1, len(*args)
	if v.Role == crm.RoleSupervisor {
		return fmt.Sprintf("(c.assignee_id = $%d OR (c.assignee_id IS NULL AND c.team_id IS NULL) OR c.team_id = ANY($%d::uuid[]))", me, teams)
	}
	return fmt.Sprintf("(c.assignee_id = $%d OR (c.assignee_id IS NULL AND (c.team_id IS NULL OR c.team_id = ANY($%d::uuid[]))))", me, teams)
}

// ListConversations lists what the viewer may see, newest activity first.
func (db *DB) ListConversations(ctx context.Context, tenantID uuid.UUID, v crm.Visibility, f ConversationFilter) (crm.Page[*crm.Conversation], error) {
	page := crm.Page[*crm.Conversation]{Items: []*crm.Conversation{}}
	limit := crm.ClampLimit(f.Limit)
	args := []any{tenantID}
	where := []string{"c.tenant_id = $1", visibilitySQL(v, &args)}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.Status) > 0 {
		where = append(where, "c.status = ANY("+arg(f.Status)+"::text[])")
	} else {
		where = append(where, "c.status <> 'archived'")
	}
	if f.AssigneeID != nil {
		where = append(where, "c.assignee_id = "+arg(*f.AssigneeID))
	}
	if f.Unassigned {
		where = append(where, "c.assignee_id IS NULL")
	}
	if f.TeamID != nil {
		where = append(where, "c.team_id = "+arg(*f.TeamID))
	}
	if f.ConnectionID != nil {
		where = append(where, "c.connection_id = "+arg(*f.ConnectionID))
	}
	if f.ContactID != nil {
		where = append(where, "c.contact_id = "+arg(*f.ContactID))
	}
	if f.LabelID != nil {
		where = append(where, "EXISTS (SELECT 1 FROM conversation_labels l WHERE l.tenant_id = c.tenant_id AND l.conversation_id = c.id AND l.label_id = "+arg(*f.LabelID)+")")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := "%" + escapeLike(q) + "%"
		digits := onlyDigits(q)
		cond := "ct.search_text LIKE crm_fold(" + arg(like) + ") ESCAPE '\\'" // name and email, accents and case folded
		if len(digits) >= 3 {
			cond += " OR ct.phone LIKE " + arg("%"+digits+"%")
		}
		where = append(where, "("+cond+")")
	}
	var cursorTime time.Time
	var cursorID uuid.UUID
	if ok, err := crm.DecodeCursor(f.Cursor, &cursorTime, &cursorID); err != nil {
		return page, err
	} else if ok {
		where = append(where, fmt.Sprintf("(c.last_activity_at, c.id) < (%s, %s)", arg(cursorTime), arg(cursorID)))
	}
	query := `SELECT ` + conversationColumns + conversationConsoleColumns + `
		FROM conversations c` + conversationConsoleJoins + `
		WHERE ` + strings.Join(where, " AND ") + fmt.Sprintf(` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT %d`, limit+1)
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanConversation(rows, true)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, c)
		}
		return rows.Err()
	})
	if err != nil {
		return page, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		next, err := crm.EncodeCursor(last.LastActivityAt, last.ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// GetConversation loads one conversation the viewer may see (else not found).
func (db *DB) GetConversation(ctx context.Context, tenantID, id uuid.UUID, v crm.Visibility) (*crm.Conversation, error) {
	var c *crm.Conversation
	args := []any{tenantID, id}
	cond := visibilitySQL(v, &args)
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		c, err = scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+conversationConsoleColumns+`
			FROM conversations c`+conversationConsoleJoins+`
			WHERE c.tenant_id = $1 AND c.id = $2 AND `+cond, args...), true)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.NotFound("conversation")
	}
	return c, translate(err)
}

// LoadConversationByID loads a conversation inside a tenant transaction (the grain's Init).
func LoadConversationByID(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (*crm.Conversation, error) {
	c, err := scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations c
		WHERE c.tenant_id = $1 AND c.id = $2`, tenantID, id), false)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.NotFound("conversation")
	}
	return c, translate(err)
}

// SetConversationLabels replaces a conversation's labels.
func SetConversationLabels(ctx context.Context, tx pgx.Tx, tenantID, conversationID uuid.UUID, labelIDs []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM conversation_labels WHERE tenant_id = $1 AND conversation_id = $2`, tenantID, conversationID); err != nil {
		return translate(err)
	}
	if len(labelIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO conversation_labels (tenant_id, conversation_id, label_id)
		SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`, tenantID, conversationID, labelIDs)
	return translate(err)
}

// UserTeamIDs lists the teams a user belongs to (for visibility).
func (db *DB) UserTeamIDs(ctx context.Context, tenantID, userID uuid.UUID) ([]uuid.UUID, error) {
	ids := []uuid.UUID{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT team_id FROM team_members WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	})
	return ids, translate(err)
}

// ConversationReferences are the rows a change of a conversation points at;
// nil (or no labels) is not checked.
type ConversationReferences struct {
	Assignee *uuid.UUID
	Team     *uuid.UUID
	Labels   []uuid.UUID
}

// MissingReference names the first reference that does not exist in the
// tenant: "assignee_id" (no such active user), "team_id" or "label_ids"
// (some label); "" when they all do.
func (db *DB) MissingReference(ctx context.Context, tenantID uuid.UUID, refs ConversationReferences) (string, error) {
	missing := ""
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var ok bool
		if refs.Assignee != nil {
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND active)`, tenantID, *refs.Assignee).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				missing = "assignee_id"
				return nil
			}
		}
		if refs.Team != nil {
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2)`, tenantID, *refs.Team).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				missing = "team_id"
				return nil
			}
		}
		if len(refs.Labels) > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM labels WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, tenantID, refs.Labels).Scan(&n); err != nil {
				return err
			}
			unique := make(map[uuid.UUID]bool, len(refs.Labels))
			for _, id := range refs.Labels {
				unique[id] = true
			}
			if n != len(unique) {
				missing = "label_ids"
			}
		}
		return nil
	})
	return missing, err
}
