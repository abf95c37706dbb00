package persistence

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// The service sweep's reads and writes (actors.Engine.ServiceSweep, run by
// a periodic durable job): conversations idle past their tenant's
// auto-close, and first answers past their team's SLA.

// ServiceTenant is a tenant with work for the service sweep: its
// auto-close, its business hours, and whether a team of it has an SLA.
type ServiceTenant struct {
	TenantID      uuid.UUID
	AutoClose     crm.AutoClose
	BusinessHours *crm.BusinessHours
	HasSLA        bool
}

// ServiceTenants are the active tenants with auto-close on or a team with
// a first-response SLA.
func (db *DB) ServiceTenants(ctx context.Context) ([]ServiceTenant, error) {
	var out []ServiceTenant
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.settings->'business_hours', t.settings->'auto_close',
			EXISTS (SELECT 1 FROM teams tm WHERE tm.tenant_id = t.id AND tm.sla_first_response_minutes > 0)
			FROM tenants t WHERE t.status = 'active'
			  AND (coalesce((t.settings->'auto_close'->>'idle_hours')::int, 0) > 0
			       OR EXISTS (SELECT 1 FROM teams tm WHERE tm.tenant_id = t.id AND tm.sla_first_response_minutes > 0))
			ORDER BY t.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st ServiceTenant
			var hours, autoClose []byte
			if err := rows.Scan(&st.TenantID, &hours, &autoClose, &st.HasSLA); err != nil {
				return err
			}
			var s ServiceSettings
			if err := decodeServiceSettings(st.TenantID, hours, nil, autoClose, &s); err != nil {
				return err
			}
			st.AutoClose, st.BusinessHours = s.AutoClose, s.BusinessHours
			out = append(out, st)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// ConversationRef names a conversation and its grain.
type ConversationRef struct {
	ID           uuid.UUID
	ConnectionID uuid.UUID
	ContactID    uuid.UUID
}

// IdleConversations are live conversations of the tenant with no activity
// since before, the idlest first.
func (db *DB) IdleConversations(ctx context.Context, tenantID uuid.UUID, before time.Time, limit int) ([]ConversationRef, error) {
	var out []ConversationRef
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, connection_id, contact_id FROM conversations
			WHERE tenant_id = $1 AND status IN ('open', 'in_progress', 'waiting') AND last_activity_at < $2
			ORDER BY last_activity_at, id LIMIT $3`, tenantID, before, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ConversationRef])
		return err
	})
	return out, translate(err)
}

// AwaitingAnswer is a live conversation of a team with a first-response SLA
// that nobody has answered yet and whose breach is not recorded.
type AwaitingAnswer struct {
	ConversationID uuid.UUID
	TeamID         uuid.UUID
	AssigneeID     *uuid.UUID
	CreatedAt      time.Time
	SLAMinutes     int
	TeamHours      *crm.BusinessHours
}

// AwaitingFirstAnswer lists the tenant's conversations still owed a first
// answer under their team's SLA, oldest first.
func (db *DB) AwaitingFirstAnswer(ctx context.Context, tenantID uuid.UUID, limit int) ([]AwaitingAnswer, error) {
	var out []AwaitingAnswer
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.id, c.team_id, c.assignee_id, c.created_at, t.sla_first_response_minutes, t.business_hours
			FROM conversations c JOIN teams t ON t.tenant_id = c.tenant_id AND t.id = c.team_id
			WHERE c.tenant_id = $1 AND c.first_response_at IS NULL AND c.team_id IS NOT NULL
			  AND c.status IN ('open', 'in_progress', 'waiting') AND t.sla_first_response_minutes > 0
			  AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.tenant_id = c.tenant_id AND b.conversation_id = c.id)
			ORDER BY c.created_at, c.id LIMIT $2`, tenantID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a AwaitingAnswer
			if err := rows.Scan(&a.ConversationID, &a.TeamID, &a.AssigneeID, &a.CreatedAt, &a.SLAMinutes, &a.TeamHours); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// SLABreach is the payload of conversation.sla_breached.
type SLABreach struct {
	ConversationID uuid.UUID  `json:"conversation_id"`
	TeamID         uuid.UUID  `json:"team_id"`
	AssigneeID     *uuid.UUID `json:"assignee_id"`
	DueAt          time.Time  `json:"due_at"`
}

// RecordSLABreach records a conversation's first-response breach once,
// with its conversation.sla_breached event (seen by those who see the
// conversation); nil when it was recorded already or got its answer
// meanwhile.
func (db *DB) RecordSLABreach(ctx context.Context, tenantID uuid.UUID, b SLABreach) (*crm.TenantEvent, error) {
	var ev *crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO sla_breaches (tenant_id, conversation_id, team_id, due_at)
			SELECT $1, c.id, $3, $4 FROM conversations c WHERE c.tenant_id = $1 AND c.id = $2 AND c.first_response_at IS NULL
			ON CONFLICT DO NOTHING`, tenantID, b.ConversationID, b.TeamID, b.DueAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		payload, err := json.Marshal(b)
		if err != nil {
			return err
		}
		e := crm.TenantEvent{Type: "conversation.sla_breached", Payload: payload, ConversationID: &b.ConversationID,
			AssigneeID: b.AssigneeID, TeamID: &b.TeamID}
		if err := AppendTenantEvent(ctx, tx, tenantID, &e); err != nil {
			return err
		}
		ev = &e
		return nil
	})
	return ev, translate(err)
}

// SLABreachedAt maps each of the conversations whose first-response SLA
// was breached to when it fell due.
func (db *DB) SLABreachedAt(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]time.Time, error) {
	out := map[uuid.UUID]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT conversation_id, due_at FROM sla_breaches WHERE tenant_id = $1 AND conversation_id = ANY($2)`,
			tenantID, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var due time.Time
			if err := rows.Scan(&id, &due); err != nil {
				return err
			}
			out[id] = due
		}
		return rows.Err()
	})
	return out, translate(err)
}
