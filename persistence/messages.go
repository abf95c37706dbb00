package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

const messageColumns = `id, tenant_id, conversation_id, connection_id, contact_id, seq, direction, type, text, media, location,
	contacts, reaction, interactive, template, referral, reply_to_id, reply_to_external_id, external_id, idempotency_key,
	status, error, sent_by, via, created_at, sent_at, delivered_at, read_at`

func scanMessage(row pgx.Row) (*crm.Message, error) {
	m := &crm.Message{}
	err := row.Scan(&m.ID, &m.TenantID, &m.ConversationID, &m.ConnectionID, &m.ContactID, &m.Seq, &m.Direction, &m.Type,
		&m.Text, &m.Media, &m.Location, &m.Contacts, &m.Reaction, &m.Interactive, &m.Template, &m.Referral, &m.ReplyToID,
		&m.ReplyToExternalID, &m.ExternalID, &m.IdempotencyKey, &m.Status, &m.Error, &m.SentBy, &m.Via, &m.CreatedAt,
		&m.SentAt, &m.DeliveredAt, &m.ReadAt)
	return m, err
}

// idempotencyConnection is the connection_id under which idempotency keys are
// kept in message_keys: they are unique per tenant, not per connection.
var idempotencyConnection = uuid.Nil

// FindMessageByKey returns the message stored under an external id (kind
// "external", per connection) or an idempotency key (kind "idempotency"), or nil.
func FindMessageByKey(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, kind string, connectionID uuid.UUID, key string) (*crm.Message, error) {
	if kind == "idempotency" {
		connectionID = idempotencyConnection
	}
	var id uuid.UUID
	var at time.Time
	err := tx.QueryRow(ctx, `SELECT message_id, message_created_at FROM message_keys
		WHERE tenant_id = $1 AND kind = $2 AND connection_id = $3 AND key = $4`, tenantID, kind, connectionID, key).Scan(&id, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	return messageByID(ctx, tx, tenantID, id, at)
}

func messageByID(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, createdAt time.Time) (*crm.Message, error) {
	m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE tenant_id = $1 AND id = $2 AND created_at = $3`, tenantID, id, createdAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.NotFound("message")
	}
	return m, translate(err)
}

// InsertMessage stores a message and its uniqueness keys (external id,
// idempotency key). When a key is already taken, nothing is written and the
// message stored under it is returned instead (existing != nil).
func InsertMessage(ctx context.Context, tx pgx.Tx, m *crm.Message) (existing *crm.Message, err error) {
	if m.ID == uuid.Nil {
		m.ID = crm.NewID()
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	m.CreatedAt = m.CreatedAt.Truncate(time.Microsecond)
	type key struct {
		kind, key string
		conn      uuid.UUID
	}
	var keys []key
	if m.ExternalID != nil && *m.ExternalID != "" {
		keys = append(keys, key{"external", *m.ExternalID, m.ConnectionID})
	}
	if m.IdempotencyKey != nil && *m.IdempotencyKey != "" {
		keys = append(keys, key{"idempotency", *m.IdempotencyKey, idempotencyConnection})
	}
	for _, k := range keys {
		tag, err := tx.Exec(ctx, `INSERT INTO message_keys (tenant_id, connection_id, kind, key, message_id, message_created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, m.TenantID, k.conn, k.kind, k.key, m.ID, m.CreatedAt)
		if err != nil {
			return nil, translate(err)
		}
		if tag.RowsAffected() == 0 {
			return FindMessageByKey(ctx, tx, m.TenantID, k.kind, k.conn, k.key)
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO messages (tenant_id, id, created_at, conversation_id, connection_id, contact_id, seq,
		direction, type, text, media, location, contacts, reaction, interactive, template, referral, reply_to_id,
		reply_to_external_id, external_id, idempotency_key, status, error, sent_by, via, sent_at, delivered_at, read_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
		        $24, $25, $26, $27, $28)`,
		m.TenantID, m.ID, m.CreatedAt, m.ConversationID, m.ConnectionID, m.ContactID, m.Seq, m.Direction, m.Type, m.Text,
		rawOrNil(m.Media), rawOrNil(m.Location), rawOrNil(m.Contacts), rawOrNil(m.Reaction), rawOrNil(m.Interactive),
		rawOrNil(m.Template), rawOrNil(m.Referral), m.ReplyToID, m.ReplyToExternalID, m.ExternalID, m.IdempotencyKey,
		m.Status, rawOrNil(m.Error), m.SentBy, m.Via, m.SentAt, m.DeliveredAt, m.ReadAt)
	return nil, translate(err)
}

func rawOrNil(r json.RawMessage) any {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return string(r)
}

// advancingFrom lists the statuses a message may leave for next under rule
// (crm.DeliveryStatus.CanAdvance or CanSettle), for an update's
// `status = ANY(...)`: the order statuses move in is written once, in crm.
func advancingFrom(next crm.DeliveryStatus, rule func(from, next crm.DeliveryStatus) bool) []string {
	out := []string{}
	for _, s := range crm.DeliveryStatuses() {
		if rule(s, next) {
			out = append(out, string(s))
		}
	}
	return out
}

// ApplyStatus moves an outbound message's status forward (never back) and
// stamps its time. It returns the message (nil when no message has that
// external id yet: the caller parks the status) and whether it changed.
func ApplyStatus(ctx context.Context, tx pgx.Tx, tenantID, connectionID uuid.UUID, externalID string, status crm.DeliveryStatus, at time.Time, statusErr json.RawMessage) (*crm.Message, bool, error) {
	m, err := FindMessageByKey(ctx, tx, tenantID, "external", connectionID, externalID)
	if err != nil || m == nil {
		return nil, false, err
	}
	if !m.Status.CanAdvance(status) {
		return m, false, nil
	}
	stamp := ""
	switch status {
	case crm.DeliverySent:
		stamp = ", sent_at = coalesce(sent_at, $5)"
	case crm.DeliveryDelivered:
		stamp = ", delivered_at = coalesce(delivered_at, $5), sent_at = coalesce(sent_at, $5)"
	case crm.DeliveryRead, crm.DeliveryPlayed:
		stamp = ", read_at = coalesce(read_at, $5), delivered_at = coalesce(delivered_at, $5), sent_at = coalesce(sent_at, $5)"
	default:
		stamp = ", updated_at = coalesce($5, now())"
	}
	// The condition is repeated in the update so concurrent statuses for one
	// message cannot move it backwards between the read above and this write.
	updated, err := scanMessage(tx.QueryRow(ctx, `UPDATE messages SET status = $4, error = coalesce($6, error)`+stamp+`
		WHERE tenant_id = $1 AND id = $2 AND created_at = $3 AND status = ANY($7::text[])
		RETURNING `+messageColumns,
		tenantID, m.ID, m.CreatedAt, string(status), at, rawOrNil(statusErr), advancingFrom(status, crm.DeliveryStatus.CanAdvance)))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return nil, false, translate(err)
	}
	return updated, true, nil
}

// UpdateOutbound records the provider's answer to a send: the external id on
// success (and its key, so status webhooks find it), or the error.
func UpdateOutbound(ctx context.Context, tx pgx.Tx, m *crm.Message, externalID string, status crm.DeliveryStatus, sendErr json.RawMessage, at time.Time) (*crm.Message, error) {
	if externalID != "" {
		if _, err := tx.Exec(ctx, `INSERT INTO message_keys (tenant_id, connection_id, kind, key, message_id, message_created_at)
			VALUES ($1, $2, 'external', $3, $4, $5) ON CONFLICT DO NOTHING`, m.TenantID, m.ConnectionID, externalID, m.ID, m.CreatedAt); err != nil {
			return nil, translate(err)
		}
	}
	var ext *string
	if externalID != "" {
		ext = &externalID
	}
	updated, err := scanMessage(tx.QueryRow(ctx, `UPDATE messages SET external_id = coalesce($4, external_id),
		status = CASE WHEN status = ANY($8::text[]) THEN $5 ELSE status END,
		error = $6, sent_at = CASE WHEN $5 = 'sent' THEN coalesce(sent_at, $7) ELSE sent_at END
		WHERE tenant_id = $1 AND id = $2 AND created_at = $3 RETURNING `+messageColumns,
		m.TenantID, m.ID, m.CreatedAt, ext, string(status), rawOrNil(sendErr), at, advancingFrom(status, crm.DeliveryStatus.CanSettle)))
	return updated, translate(err)
}

// ParkStatus keeps a status whose message is not stored yet.
func ParkStatus(ctx context.Context, tx pgx.Tx, tenantID, connectionID uuid.UUID, externalID string, status crm.DeliveryStatus, at time.Time, statusErr json.RawMessage) error {
	_, err := tx.Exec(ctx, `INSERT INTO parked_statuses (tenant_id, connection_id, external_id, status, occurred_at, error)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, tenantID, connectionID, externalID, string(status), at, rawOrNil(statusErr))
	return translate(err)
}

// ParkedStatus is a status waiting for its message.
type ParkedStatus struct {
	Status     crm.DeliveryStatus
	OccurredAt time.Time
	Error      json.RawMessage
}

// TakeParkedStatuses removes and returns the statuses parked for a message, in
// the order they move (so applying them in turn ends at the furthest).
func TakeParkedStatuses(ctx context.Context, tx pgx.Tx, tenantID, connectionID uuid.UUID, externalID string) ([]ParkedStatus, error) {
	rows, err := tx.Query(ctx, `DELETE FROM parked_statuses WHERE tenant_id = $1 AND connection_id = $2 AND external_id = $3
		RETURNING status, occurred_at, error`, tenantID, connectionID, externalID)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ParkedStatus, error) {
		var p ParkedStatus
		err := r.Scan(&p.Status, &p.OccurredAt, &p.Error)
		return p, err
	})
	if err != nil {
		return nil, translate(err)
	}
	for i := 1; i < len(out); i++ { // tiny insertion sort by rank
		for j := i; j > 0 && out[j].Status.Rank() < out[j-1].Status.Rank(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// ListMessages pages a conversation's messages oldest to newest by seq. With
// before > 0 it returns the page of messages just before that seq (scrolling
// back); otherwise the page after the cursor.
func (db *DB) ListMessages(ctx context.Context, tenantID, conversationID uuid.UUID, cursor string, limit int) (crm.Page[*crm.Message], error) {
	page := crm.Page[*crm.Message]{Items: []*crm.Message{}}
	limit = crm.ClampLimit(limit)
	var after int64
	if _, err := crm.DecodeCursor(cursor, &after); err != nil {
		return page, err
	}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE tenant_id = $1 AND conversation_id = $2
			AND seq > $3 ORDER BY seq LIMIT $4`, tenantID, conversationID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, m)
		}
		return rows.Err()
	})
	if err != nil {
		return page, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(page.Items[limit-1].Seq)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// LatestMessages returns the newest limit messages of a conversation in seq
// order and the seq to page back from (0 when there is nothing older).
func (db *DB) LatestMessages(ctx context.Context, tenantID, conversationID uuid.UUID, beforeSeq int64, limit int) ([]*crm.Message, int64, error) {
	limit = crm.ClampLimit(limit)
	if beforeSeq <= 0 {
		beforeSeq = 1<<62 - 1
	}
	var out []*crm.Message
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE tenant_id = $1 AND conversation_id = $2
			AND seq < $3 ORDER BY seq DESC LIMIT $4`, tenantID, conversationID, beforeSeq, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, translate(err)
	}
	var older int64
	if len(out) > limit {
		out = out[:limit]
		older = out[limit-1].Seq
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, older, nil
}

// Note is an internal note on a conversation: seen by agents, never sent.
type Note struct {
	ID             uuid.UUID  `json:"id"`
	ConversationID uuid.UUID  `json:"conversation_id"`
	AuthorID       *uuid.UUID `json:"author_id"`
	Text           string     `json:"text"`
	CreatedAt      time.Time  `json:"created_at"`
}

// InsertNote stores an internal note.
func InsertNote(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, n *Note) error {
	if n.ID == uuid.Nil {
		n.ID = crm.NewID()
	}
	err := tx.QueryRow(ctx, `INSERT INTO internal_notes (tenant_id, id, conversation_id, author_id, text)
		VALUES ($1, $2, $3, $4, $5) RETURNING created_at`, tenantID, n.ID, n.ConversationID, n.AuthorID, n.Text).Scan(&n.CreatedAt)
	return translate(err)
}

// ListNotes lists a conversation's notes, oldest first.
func (db *DB) ListNotes(ctx context.Context, tenantID, conversationID uuid.UUID) ([]Note, error) {
	out := []Note{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, conversation_id, author_id, text, created_at FROM internal_notes
			WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY created_at, id`, tenantID, conversationID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Note, error) {
			var n Note
			err := r.Scan(&n.ID, &n.ConversationID, &n.AuthorID, &n.Text, &n.CreatedAt)
			return n, err
		})
		return err
	})
	return out, translate(err)
}

// ParkedReady is a parked status whose message now exists.
type ParkedReady struct {
	TenantID, ConnectionID uuid.UUID
	ExternalID             string
}

// ParkedWithMessage finds parked statuses whose message has appeared (the
// sweeper's system path, across tenants).
func (db *DB) ParkedWithMessage(ctx context.Context, limit int) ([]ParkedReady, error) {
	var out []ParkedReady
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT p.tenant_id, p.connection_id, p.external_id FROM parked_statuses p
			JOIN message_keys k ON k.tenant_id = p.tenant_id AND k.kind = 'external' AND k.connection_id = p.connection_id
			  AND k.key = p.external_id LIMIT $1`, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ParkedReady, error) {
			var p ParkedReady
			err := r.Scan(&p.TenantID, &p.ConnectionID, &p.ExternalID)
			return p, err
		})
		return err
	})
	return out, translate(err)
}

// ApplyWatermark moves every outbound message of the contact on this
// connection sent up to the watermark (or the one named) to status, forward
// only, and returns those that changed.
func ApplyWatermark(ctx context.Context, tx pgx.Tx, tenantID, connectionID uuid.UUID, channel, contactExternalID, messageExternalID string, status crm.DeliveryStatus, upTo time.Time) ([]*crm.Message, error) {
	var contactID uuid.UUID
	err := tx.QueryRow(ctx, `SELECT contact_id FROM contact_identities WHERE tenant_id = $1 AND channel = $2 AND external_id = $3`,
		tenantID, channel, contactExternalID).Scan(&contactID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err)
	}
	stamp := "delivered_at = coalesce(delivered_at, $5)"
	if status == crm.DeliveryRead {
		stamp += ", read_at = coalesce(read_at, $5)"
	}
	// Only messages the provider took (sent or delivered) move: a pending or
	// failed one was not seen, whatever the watermark says.
	from := advancingFrom(status, func(from, next crm.DeliveryStatus) bool {
		return (from == crm.DeliverySent || from == crm.DeliveryDelivered) && from.CanAdvance(next)
	})
	rows, err := tx.Query(ctx, `UPDATE messages SET status = $4, `+stamp+`
		WHERE tenant_id = $1 AND connection_id = $2 AND contact_id = $3 AND direction = 'outbound'
		  AND status = ANY($7::text[]) AND (created_at <= $5 OR external_id = $6)
		RETURNING `+messageColumns, tenantID, connectionID, contactID, string(status), upTo, messageExternalID, from)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Message, error) { return scanMessage(r) })
	return out, translate(err)
}

// MessageByID loads a message by id (every monthly partition's key starts
// with tenant and id, so this stays an index look-up).
func MessageByID(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (*crm.Message, error) {
	m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.NotFound("message")
	}
	return m, translate(err)
}

// MessageByID loads a message in its own tenant transaction (the API
// answering with the message a send stored).
func (db *DB) MessageByID(ctx context.Context, tenantID, id uuid.UUID) (*crm.Message, error) {
	var m *crm.Message
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		m, err = MessageByID(ctx, tx, tenantID, id)
		return err
	})
	return m, err
}

// ContactExternalID is how a contact is addressed on a channel (wa_id, PSID, IGSID).
func ContactExternalID(ctx context.Context, tx pgx.Tx, tenantID, contactID uuid.UUID, channel string) (string, error) {
	var ext string
	err := tx.QueryRow(ctx, `SELECT external_id FROM contact_identities WHERE tenant_id = $1 AND contact_id = $2 AND channel = $3
		ORDER BY created_at LIMIT 1`, tenantID, contactID, channel).Scan(&ext)
	if errors.Is(err, pgx.ErrNoRows) {
		// A contact created by an agent: WhatsApp can be reached by phone.
		var phone *string
		if err := tx.QueryRow(ctx, `SELECT phone FROM contacts WHERE tenant_id = $1 AND id = $2`, tenantID, contactID).Scan(&phone); err != nil {
			return "", translate(err)
		}
		if channel == "whatsapp" && phone != nil {
			return (*phone)[1:], nil
		}
		return "", crm.NewError(crm.ErrUnprocessable, "no_channel_identity", "the contact has no identity on this channel", nil)
	}
	return ext, translate(err)
}

// SetMessageMediaID records our stored copy of a message's media.
func SetMessageMediaID(ctx context.Context, tx pgx.Tx, tenantID, messageID, mediaID uuid.UUID, mime string, size int64) (*crm.Message, error) {
	m, err := scanMessage(tx.QueryRow(ctx, `UPDATE messages SET media = coalesce(media, '{}'::jsonb) ||
		jsonb_build_object('media_id', $3::text, 'stored_mime_type', $4::text, 'size', $5::bigint)
		WHERE tenant_id = $1 AND id = $2 RETURNING `+messageColumns, tenantID, messageID, mediaID.String(), mime, size))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.NotFound("message")
	}
	return m, translate(err)
}

// TakeStaleSends finds outbound messages pending since before staleBefore
// (long after any attempt to send them could still be running: their node
// died between storing them and handing them to the provider),
// across tenants, and touches them so the next sweep leaves them alone while
// they are retried (the sweeper's system path).
func (db *DB) TakeStaleSends(ctx context.Context, staleBefore time.Time, limit int) ([]*crm.Message, error) {
	var out []*crm.Message
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE messages m SET updated_at = now()
			FROM (SELECT tenant_id, id, created_at FROM messages
			      WHERE status = 'pending' AND direction = 'outbound' AND updated_at < $1
			      ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED) s
			WHERE m.tenant_id = s.tenant_id AND m.id = s.id AND m.created_at = s.created_at
			RETURNING `+prefixed("m.", messageColumns), staleBefore, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Message, error) { return scanMessage(r) })
		return err
	})
	return out, translate(err)
}

// prefixed qualifies every column of a comma-separated list.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
