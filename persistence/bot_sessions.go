package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm"
)

// What the conversation grain reads and writes when it runs a chatbot flow:
// the session (stored in the same transaction as the message it reacts to),
// the contact as a flow sees it, and the contact changes a flow makes.

const botSessionColumns = `s.id, s.conversation_id, s.flow_id, coalesce(f.name, ''), s.flow_version, s.status,
	coalesce(s.current_node_id, ''), s.state, s.variables, s.created_at, s.updated_at, s.ended_at`

const botSessionFrom = ` FROM bot_sessions s LEFT JOIN bot_flows f ON f.tenant_id = s.tenant_id AND f.id = s.flow_id`

func scanBotSession(row pgx.Row) (*crm.BotSession, error) {
	s := &crm.BotSession{}
	var state, variables []byte
	if err := row.Scan(&s.ID, &s.ConversationID, &s.FlowID, &s.FlowName, &s.Version, &s.Status, &s.Node,
		&state, &variables, &s.StartedAt, &s.UpdatedAt, &s.EndedAt); err != nil {
		return nil, err
	}
	s.State = state
	if err := json.Unmarshal(variables, &s.Variables); err != nil {
		return nil, fmt.Errorf("bot session %s variables: %w", s.ID, err)
	}
	var waiting struct {
		Waiting string `json:"waiting"`
	}
	if err := json.Unmarshal(state, &waiting); err != nil {
		return nil, fmt.Errorf("bot session %s state: %w", s.ID, err)
	}
	s.Waiting = waiting.Waiting
	return s, nil
}

// LiveBotSession is the conversation's running session, or nil.
func (t *Tx) LiveBotSession(ctx context.Context, conversationID uuid.UUID) (*crm.BotSession, error) {
	s, err := scanBotSession(t.tx.QueryRow(ctx, `SELECT `+botSessionColumns+botSessionFrom+`
		WHERE s.tenant_id = $1 AND s.conversation_id = $2 AND s.status IN ('active', 'waiting')`, t.tenant, conversationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return s, err
}

// SaveBotSession inserts the session or writes its new state.
func (t *Tx) SaveBotSession(ctx context.Context, s *crm.BotSession) error {
	variables, err := json.Marshal(s.Variables)
	if err != nil {
		return fmt.Errorf("bot session %s variables: %w", s.ID, err)
	}
	if s.Variables == nil {
		variables = []byte("{}")
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO bot_sessions (tenant_id, id, conversation_id, flow_id, flow_version, current_node_id,
			status, variables, state, created_at, updated_at, ended_at)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7, $8, $9, $10, $11, $12)
		ON CONFLICT (tenant_id, id) DO UPDATE SET current_node_id = excluded.current_node_id, status = excluded.status,
			variables = excluded.variables, state = excluded.state, updated_at = excluded.updated_at, ended_at = excluded.ended_at`,
		t.tenant, s.ID, s.ConversationID, s.FlowID, s.Version, s.Node, s.Status, variables, []byte(s.State),
		s.StartedAt, s.UpdatedAt, s.EndedAt)
	return translate(err)
}

// ConversationBotSession is the conversation's live session, or else its
// latest one, or nil when a bot never ran on it.
func (db *DB) ConversationBotSession(ctx context.Context, tenantID, conversationID uuid.UUID) (*crm.BotSession, error) {
	var out *crm.BotSession
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		s, err := scanBotSession(tx.QueryRow(ctx, `SELECT `+botSessionColumns+botSessionFrom+`
			WHERE s.tenant_id = $1 AND s.conversation_id = $2
			ORDER BY s.status IN ('active', 'waiting') DESC, s.created_at DESC, s.id LIMIT 1`, tenantID, conversationID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		out = s
		return err
	})
	return out, translate(err)
}

// BotContact is a contact as a flow reads it.
type BotContact struct {
	Name, Phone, Email string
	Fields             map[string]string // custom fields, as text
	Labels             []uuid.UUID
}

// BotContact reads the contact a flow talks to.
func (t *Tx) BotContact(ctx context.Context, contactID uuid.UUID) (BotContact, error) {
	var c BotContact
	var phone, email *string
	var fields map[string]any
	err := t.tx.QueryRow(ctx, `SELECT c.name, c.phone, c.email, c.custom_fields,
			coalesce((SELECT array_agg(l.label_id ORDER BY l.label_id) FROM contact_labels l
			          WHERE l.tenant_id = c.tenant_id AND l.contact_id = c.id), '{}')
		FROM contacts c WHERE c.tenant_id = $1 AND c.id = $2`, t.tenant, contactID).Scan(&c.Name, &phone, &email, &fields, &c.Labels)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, crm.NotFound("contact")
	}
	if err != nil {
		return c, err
	}
	if phone != nil {
		c.Phone = *phone
	}
	if email != nil {
		c.Email = *email
	}
	c.Fields = make(map[string]string, len(fields))
	for k, v := range fields {
		switch v := v.(type) {
		case string:
			c.Fields[k] = v
		case nil:
		default:
			raw, _ := json.Marshal(v) // a value decoded from JSON encodes again
			c.Fields[k] = string(raw)
		}
	}
	return c, nil
}

// SetContactField writes what a flow learned: name, email, phone or
// custom.<key>. A value the contact row cannot take (an email or phone that
// is not one, a phone another contact has) is skipped and reported false,
// not failed: the flow goes on, and the conversation's transaction with it.
func (t *Tx) SetContactField(ctx context.Context, contactID uuid.UUID, field, value string) (bool, error) {
	var tag pgconn.CommandTag
	var err error
	switch {
	case field == "name":
		if len([]rune(value)) > 200 {
			return false, nil
		}
		tag, err = t.tx.Exec(ctx, `UPDATE contacts SET name = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			t.tenant, contactID, value)
	case field == "email":
		value = strings.ToLower(strings.TrimSpace(value))
		if !strings.Contains(value, "@") || len(value) > 254 {
			return false, nil
		}
		tag, err = t.tx.Exec(ctx, `UPDATE contacts SET email = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			t.tenant, contactID, value)
	case field == "phone":
		phone, perr := crm.NormalizePhone(value)
		if perr != nil {
			return false, nil
		}
		tag, err = t.tx.Exec(ctx, `UPDATE contacts SET phone = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2
			AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.tenant_id = $1 AND o.phone = $3 AND o.id <> $2)`,
			t.tenant, contactID, phone)
	case strings.HasPrefix(field, "custom."):
		key := strings.TrimPrefix(field, "custom.")
		if key == "" {
			return false, nil
		}
		tag, err = t.tx.Exec(ctx, `UPDATE contacts SET custom_fields = custom_fields || jsonb_build_object($3::text, $4::text),
			updated_at = now() WHERE tenant_id = $1 AND id = $2`, t.tenant, contactID, key, value)
	default:
		return false, nil
	}
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetContactLabel adds or removes one of the contact's labels; a label
// deleted meanwhile is skipped (false).
func (t *Tx) SetContactLabel(ctx context.Context, contactID, labelID uuid.UUID, on bool) (bool, error) {
	var tag pgconn.CommandTag
	var err error
	if on {
		tag, err = t.tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id)
			SELECT $1, $2, l.id FROM labels l WHERE l.tenant_id = $1 AND l.id = $3
			ON CONFLICT DO NOTHING`, t.tenant, contactID, labelID)
	} else {
		tag, err = t.tx.Exec(ctx, `DELETE FROM contact_labels WHERE tenant_id = $1 AND contact_id = $2 AND label_id = $3`,
			t.tenant, contactID, labelID)
	}
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() == 1, nil
}

// ScheduleJob inserts a durable job into this transaction: it exists if and
// only if the transaction commits (DB.SetJobInserter).
func (t *Tx) ScheduleJob(ctx context.Context, args JobArgs, at time.Time) error {
	if t.jobs == nil {
		return crm.NewError(crm.ErrUnprocessable, "jobs_unavailable", "timed work cannot be scheduled on this node (it runs no job client)", nil)
	}
	return t.jobs.InsertTx(ctx, t.tx, args, JobOpts{RunAt: at})
}

// SetContactOptOut records a contact's consent to marketing: opted out (a
// stop keyword, WhatsApp's 131050) or back in. It writes the audit entry
// with the reason; false when the contact was already so.
func (t *Tx) SetContactOptOut(ctx context.Context, contactID uuid.UUID, optedOut bool, reason string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE contacts SET opted_out = $3, updated_at = now()
		WHERE tenant_id = $1 AND id = $2 AND opted_out <> $3`, t.tenant, contactID, optedOut)
	if err != nil {
		return false, translate(err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	action := "opt_out"
	if !optedOut {
		action = "opt_in"
	}
	return true, WriteAudit(ctx, t.tx, t.tenant, AuditEntry{Action: action, Entity: "contact", EntityID: contactID,
		After: map[string]any{"opted_out": optedOut, "reason": reason}})
}

// SetContactConsent is SetContactOptOut for a person (an agent recording
// the contact's opt-in again, with a note), audited under their name.
func (db *DB) SetContactConsent(ctx context.Context, tenantID, contactID uuid.UUID, by AuditEntry, optedOut bool, note string) (bool, error) {
	var changed bool
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE contacts SET opted_out = $3, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND opted_out <> $3`, tenantID, contactID, optedOut)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1 AND id = $2)`, tenantID, contactID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return crm.NotFound("contact")
			}
			return nil
		}
		changed = true
		by.Action, by.Entity, by.EntityID = "opt_in", "contact", contactID
		if optedOut {
			by.Action = "opt_out"
		}
		by.After = map[string]any{"opted_out": optedOut, "reason": "agent", "note": note}
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return changed, translate(err)
}

// BotFlowVersion reads a published version's definition in this
// transaction (a session pinned to a version the engine has not compiled).
func (t *Tx) BotFlowVersion(ctx context.Context, flowID uuid.UUID, version int) (crm.BotFlow, error) {
	v, err := scanBotFlowVersion(t.tx.QueryRow(ctx, `SELECT flow_id, version, definition, published_at FROM bot_flow_versions
		WHERE tenant_id = $1 AND flow_id = $2 AND version = $3`, t.tenant, flowID, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.BotFlow{}, crm.NotFound("bot flow version")
	}
	return v.Definition, err
}
