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

// ServiceSettings are how a tenant serves its customers over time: its
// business hours (nil: always open), the automatic reply outside them and
// auto-close. They live in tenants.settings.
type ServiceSettings struct {
	BusinessHours     *crm.BusinessHours    `json:"business_hours"`
	OutsideHoursReply crm.OutsideHoursReply `json:"outside_hours_reply"`
	AutoClose         crm.AutoClose         `json:"auto_close"`
}

// GetServiceSettings reads the tenant's service settings.
func (db *DB) GetServiceSettings(ctx context.Context, tenantID uuid.UUID) (ServiceSettings, error) {
	var out ServiceSettings
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var hours, reply, autoClose []byte
		if err := tx.QueryRow(ctx, `SELECT t.settings->'business_hours', t.settings->'outside_hours_reply',
			t.settings->'auto_close' FROM tenants t WHERE t.id = $1`, tenantID).Scan(&hours, &reply, &autoClose); err != nil {
			return err
		}
		return decodeServiceSettings(tenantID, hours, reply, autoClose, &out)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return out, crm.NotFound("tenant")
	}
	return out, translate(err)
}

func decodeServiceSettings(tenantID uuid.UUID, hours, reply, autoClose []byte, out *ServiceSettings) error {
	present := func(b []byte) bool { return len(b) > 0 && string(b) != "null" }
	if present(hours) {
		var h crm.BusinessHours
		if err := json.Unmarshal(hours, &h); err != nil {
			return fmt.Errorf("tenant %s business hours: %w", tenantID, err)
		}
		out.BusinessHours = &h
	}
	if present(reply) {
		if err := json.Unmarshal(reply, &out.OutsideHoursReply); err != nil {
			return fmt.Errorf("tenant %s outside-hours reply: %w", tenantID, err)
		}
	}
	if present(autoClose) {
		if err := json.Unmarshal(autoClose, &out.AutoClose); err != nil {
			return fmt.Errorf("tenant %s auto-close: %w", tenantID, err)
		}
	}
	return nil
}

// SetServiceSettings replaces the tenant's service settings and audits the
// change. Only the tenant's own id is ever passed in.
func (db *DB) SetServiceSettings(ctx context.Context, tenantID uuid.UUID, by AuditEntry, s ServiceSettings) (ServiceSettings, error) {
	before, err := db.GetServiceSettings(ctx, tenantID)
	if err != nil {
		return before, err
	}
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET settings = settings || jsonb_build_object('business_hours', $2::jsonb,
			'outside_hours_reply', $3::jsonb, 'auto_close', $4::jsonb), updated_at = now() WHERE id = $1`,
			tenantID, s.BusinessHours, s.OutsideHoursReply, s.AutoClose)
		return err
	})
	if err != nil {
		return before, translate(err)
	}
	by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "service_settings", tenantID, before, s
	return s, translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error { return WriteAudit(ctx, tx, tenantID, by) }))
}

// TeamCalendar is a team's distribution and its calendar, as the grains and
// the distributor read them.
type TeamCalendar struct {
	ID uuid.UUID
	TeamRouting
}

// RoutingConfig is what a tenant's grains need to route conversations:
// each connection's default team and each team's routing.
type RoutingConfig struct {
	DefaultTeams map[uuid.UUID]uuid.UUID // connection → team
	Teams        map[uuid.UUID]TeamRouting
}

// LoadRoutingConfig reads a tenant's connection defaults and team routing.
func (db *DB) LoadRoutingConfig(ctx context.Context, tenantID uuid.UUID) (RoutingConfig, error) {
	out := RoutingConfig{DefaultTeams: map[uuid.UUID]uuid.UUID{}, Teams: map[uuid.UUID]TeamRouting{}}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, default_team_id FROM connections
			WHERE tenant_id = $1 AND default_team_id IS NOT NULL AND deleted_at IS NULL`, tenantID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var conn, team uuid.UUID
			if err := rows.Scan(&conn, &team); err != nil {
				rows.Close()
				return err
			}
			out.DefaultTeams[conn] = team
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, auto_assign, max_open_per_agent, sla_first_response_minutes, business_hours
			FROM teams WHERE tenant_id = $1`, tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var r TeamRouting
			if err := rows.Scan(&id, &r.AutoAssign, &r.MaxOpenPerAgent, &r.SLAFirstResponseMinutes, &r.BusinessHours); err != nil {
				return err
			}
			out.Teams[id] = r
		}
		return rows.Err()
	})
	return out, translate(err)
}

// QueueEntry is a conversation waiting in a team's queue.
type QueueEntry struct {
	ConversationID uuid.UUID `json:"conversation_id"`
	ConnectionID   uuid.UUID `json:"connection_id"`
	ContactID      uuid.UUID `json:"contact_id"`
	TeamID         uuid.UUID `json:"team_id"`
	QueuedAt       time.Time `json:"queued_at"`
}

// QueuedConversations are the first conversations waiting in a team's
// queue, longest waiting first.
func (db *DB) QueuedConversations(ctx context.Context, tenantID, teamID uuid.UUID, limit int) ([]QueueEntry, error) {
	out := []QueueEntry{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT q.conversation_id, c.connection_id, c.contact_id, q.team_id, q.queued_at
			FROM conversation_queue q JOIN conversations c ON c.tenant_id = q.tenant_id AND c.id = q.conversation_id
			WHERE q.tenant_id = $1 AND q.team_id = $2 ORDER BY q.queued_at, q.conversation_id LIMIT $3`, tenantID, teamID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e QueueEntry
			if err := rows.Scan(&e.ConversationID, &e.ConnectionID, &e.ContactID, &e.TeamID, &e.QueuedAt); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// DistributingTeams are the tenant's teams that distribute automatically
// and have conversations waiting.
func (db *DB) DistributingTeams(ctx context.Context, tenantID uuid.UUID) ([]TeamCalendar, error) {
	out := []TeamCalendar{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.auto_assign, t.max_open_per_agent, t.sla_first_response_minutes, t.business_hours
			FROM teams t WHERE t.tenant_id = $1 AND t.auto_assign <> 'off'
			  AND EXISTS (SELECT 1 FROM conversation_queue q WHERE q.tenant_id = t.tenant_id AND q.team_id = t.id)
			ORDER BY t.id`, tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t TeamCalendar
			if err := rows.Scan(&t.ID, &t.AutoAssign, &t.MaxOpenPerAgent, &t.SLAFirstResponseMinutes, &t.BusinessHours); err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// TenantsWithQueues are the tenants with a conversation waiting in a team
// that distributes automatically (the distributor's periodic pass).
func (db *DB) TenantsWithQueues(ctx context.Context) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT t.tenant_id FROM teams t WHERE t.auto_assign <> 'off'
			AND EXISTS (SELECT 1 FROM conversation_queue q WHERE q.tenant_id = t.tenant_id AND q.team_id = t.id)`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	})
	return out, translate(err)
}

// WithTeamDrain runs fn while holding the team's distribution lock, so the
// nodes drain one team's queue one at a time, in order of waiting.
func (db *DB) WithTeamDrain(ctx context.Context, tenantID, teamID uuid.UUID, fn func() error) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 18))`, "drain:"+teamID.String()); err != nil {
			return err
		}
		return fn()
	}))
}

// ClaimAgent picks, in a grain's transaction, the team member who takes the
// next conversation: online, active and under the cap (the tighter of the
// team's and the user's own), in the mode's order. The chosen agent's row
// is locked until the transaction ends and their open conversations are
// counted after the lock, so two transactions never both fill an agent's
// last place. ok is false when nobody can take one.
func ClaimAgent(ctx context.Context, tx pgx.Tx, tenantID, teamID uuid.UUID, mode crm.AutoAssign, teamCap int) (uuid.UUID, bool, error) {
	order := `tm.last_assigned_at NULLS FIRST, u.id`
	if mode == crm.AutoAssignLeastBusy {
		order = `(SELECT count(*) FROM conversations c WHERE c.tenant_id = u.tenant_id AND c.assignee_id = u.id
			AND c.status IN ('open', 'in_progress', 'waiting')), ` + order
	}
	rows, err := tx.Query(ctx, `SELECT u.id FROM team_members tm
		JOIN users u ON u.tenant_id = tm.tenant_id AND u.id = tm.user_id
		WHERE tm.tenant_id = $1 AND tm.team_id = $2 AND u.active AND u.availability = 'online'
		ORDER BY `+order+` LIMIT 50`, tenantID, teamID)
	if err != nil {
		return uuid.Nil, false, err
	}
	candidates, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return uuid.Nil, false, err
	}
	for _, id := range candidates {
		var available bool
		var userCap int
		err := tx.QueryRow(ctx, `SELECT u.active AND u.availability = 'online', u.max_concurrent_conversations
			FROM users u WHERE u.tenant_id = $1 AND u.id = $2 FOR NO KEY UPDATE`, tenantID, id).Scan(&available, &userCap)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return uuid.Nil, false, err
		}
		if !available {
			continue
		}
		if limit := crm.AgentCap(teamCap, userCap); limit > 0 {
			var open int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM conversations c WHERE c.tenant_id = $1 AND c.assignee_id = $2
				AND c.status IN ('open', 'in_progress', 'waiting')`, tenantID, id).Scan(&open); err != nil {
				return uuid.Nil, false, err
			}
			if open >= limit {
				continue
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE team_members SET last_assigned_at = clock_timestamp()
			WHERE tenant_id = $1 AND team_id = $2 AND user_id = $3`, tenantID, teamID, id); err != nil {
			return uuid.Nil, false, err
		}
		return id, true, nil
	}
	return uuid.Nil, false, nil
}

// RecordOutsideHoursReply notes the outside-hours reply of a conversation
// for the closed period that began at periodStart; false when one was
// already sent in that period.
func RecordOutsideHoursReply(ctx context.Context, tx pgx.Tx, tenantID, conversationID uuid.UUID, periodStart time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO outside_hours_replies (tenant_id, conversation_id, period_start)
		VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, tenantID, conversationID, periodStart)
	return tag.RowsAffected() == 1, err
}

func (t *Tx) ClaimAgent(ctx context.Context, teamID uuid.UUID, mode crm.AutoAssign, teamCap int) (uuid.UUID, bool, error) {
	return ClaimAgent(ctx, t.tx, t.tenant, teamID, mode, teamCap)
}

func (t *Tx) RecordOutsideHoursReply(ctx context.Context, conversationID uuid.UUID, periodStart time.Time) (bool, error) {
	return RecordOutsideHoursReply(ctx, t.tx, t.tenant, conversationID, periodStart)
}

// QueueItem is a waiting conversation as supervisors see it.
type QueueItem struct {
	ConversationID uuid.UUID  `json:"conversation_id"`
	TeamID         uuid.UUID  `json:"team_id"`
	ContactID      uuid.UUID  `json:"contact_id"`
	ContactName    string     `json:"contact_name"`
	ContactPhone   *string    `json:"contact_phone"`
	Channel        string     `json:"channel"`
	Preview        string     `json:"last_message_preview"`
	CreatedAt      time.Time  `json:"created_at"`
	QueuedAt       time.Time  `json:"queued_at"`
	WaitingSeconds int64      `json:"waiting_seconds"`
	SLADueAt       *time.Time `json:"sla_due_at"`
}

// TeamQueue is one team's queue: how many wait, since when, and the first of them.
type TeamQueue struct {
	TeamID        uuid.UUID      `json:"team_id"`
	TeamName      string         `json:"team_name"`
	AutoAssign    crm.AutoAssign `json:"auto_assign"`
	Waiting       int            `json:"waiting"`
	OldestQueued  *time.Time     `json:"oldest_queued_at"`
	AgentsOnline  int            `json:"agents_online"`
	AgentsWithCap int            `json:"agents_with_room"`
	Items         []QueueItem    `json:"items"`
}

// TeamQueues lists the tenant's team queues (those of teams, when given)
// with up to perTeam waiting conversations each, longest waiting first.
func (db *DB) TeamQueues(ctx context.Context, tenantID uuid.UUID, teams []uuid.UUID, perTeam int, now time.Time) ([]TeamQueue, error) {
	out := []TeamQueue{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.name, t.auto_assign,
			(SELECT count(*) FROM conversation_queue q WHERE q.tenant_id = t.tenant_id AND q.team_id = t.id),
			(SELECT min(q.queued_at) FROM conversation_queue q WHERE q.tenant_id = t.tenant_id AND q.team_id = t.id),
			(SELECT count(*) FROM team_members tm JOIN users u ON u.tenant_id = tm.tenant_id AND u.id = tm.user_id
			  WHERE tm.tenant_id = t.tenant_id AND tm.team_id = t.id AND u.active AND u.availability = 'online'),
			(SELECT count(*) FROM team_members tm JOIN users u ON u.tenant_id = tm.tenant_id AND u.id = tm.user_id
			  WHERE tm.tenant_id = t.tenant_id AND tm.team_id = t.id AND u.active AND u.availability = 'online'
			    AND (greatest(t.max_open_per_agent, u.max_concurrent_conversations) = 0 OR
			         (SELECT count(*) FROM conversations c WHERE c.tenant_id = u.tenant_id AND c.assignee_id = u.id
			            AND c.status IN ('open', 'in_progress', 'waiting')) <
			         least(nullif(t.max_open_per_agent, 0), nullif(u.max_concurrent_conversations, 0))))
			FROM teams t WHERE t.tenant_id = $1 AND ($2::uuid[] IS NULL OR t.id = ANY($2)) ORDER BY t.name, t.id`, tenantID, teams)
		if err != nil {
			return err
		}
		for rows.Next() {
			q := TeamQueue{Items: []QueueItem{}}
			if err := rows.Scan(&q.TeamID, &q.TeamName, &q.AutoAssign, &q.Waiting, &q.OldestQueued, &q.AgentsOnline, &q.AgentsWithCap); err != nil {
				rows.Close()
				return err
			}
			out = append(out, q)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			if out[i].Waiting == 0 || perTeam <= 0 {
				continue
			}
			rows, err := tx.Query(ctx, `SELECT q.conversation_id, q.team_id, c.contact_id, ct.name, ct.phone, c.channel,
				c.last_message_preview, c.created_at, q.queued_at
				FROM conversation_queue q JOIN conversations c ON c.tenant_id = q.tenant_id AND c.id = q.conversation_id
				JOIN contacts ct ON ct.tenant_id = c.tenant_id AND ct.id = c.contact_id
				WHERE q.tenant_id = $1 AND q.team_id = $2 ORDER BY q.queued_at, q.conversation_id LIMIT $3`,
				tenantID, out[i].TeamID, perTeam)
			if err != nil {
				return err
			}
			for rows.Next() {
				var it QueueItem
				if err := rows.Scan(&it.ConversationID, &it.TeamID, &it.ContactID, &it.ContactName, &it.ContactPhone,
					&it.Channel, &it.Preview, &it.CreatedAt, &it.QueuedAt); err != nil {
					rows.Close()
					return err
				}
				it.WaitingSeconds = int64(max(now.Sub(it.QueuedAt), 0) / time.Second)
				out[i].Items = append(out[i].Items, it)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, translate(err)
}

// AvailabilityChange is the payload of user.availability.
type AvailabilityChange struct {
	UserID       uuid.UUID        `json:"user_id"`
	Availability crm.Availability `json:"availability"`
}

// SetAvailability records what a user says about taking conversations, with
// the user.availability event every console of the tenant applies; nil
// when it did not change.
func (db *DB) SetAvailability(ctx context.Context, tenantID, userID uuid.UUID, a crm.Availability) (*crm.TenantEvent, error) {
	var changed *crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var before string
		err := tx.QueryRow(ctx, `SELECT availability FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`,
			tenantID, userID).Scan(&before)
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("user")
		}
		if err != nil || before == string(a) {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE users SET availability = $3, last_seen_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, userID, a); err != nil {
			return err
		}
		payload, err := json.Marshal(AvailabilityChange{UserID: userID, Availability: a})
		if err != nil {
			return err
		}
		ev := crm.TenantEvent{Type: "user.availability", Payload: payload}
		if err := AppendTenantEvent(ctx, tx, tenantID, &ev); err != nil {
			return err
		}
		changed = &ev
		return nil
	})
	return changed, translate(err)
}

// Availability reads a user's availability.
func (db *DB) Availability(ctx context.Context, tenantID, userID uuid.UUID) (crm.Availability, error) {
	var a crm.Availability
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT availability FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID).Scan(&a)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return a, crm.NotFound("user")
	}
	return a, translate(err)
}

// AgentAvailability is one user's availability, for the console's roster.
type AgentAvailability struct {
	UserID       uuid.UUID        `json:"user_id"`
	Availability crm.Availability `json:"availability"`
	Connected    bool             `json:"connected"`
}

// Availabilities lists the tenant's active users' availability and whether
// a console of theirs is open on any node (a session row seen since fresh).
func (db *DB) Availabilities(ctx context.Context, tenantID uuid.UUID, fresh time.Time) ([]AgentAvailability, error) {
	out := []AgentAvailability{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT u.id, u.availability, EXISTS (SELECT 1 FROM agent_sessions s
			WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id AND s.seen_at >= $2)
			FROM users u WHERE u.tenant_id = $1 AND u.active ORDER BY u.id`, tenantID, fresh)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a AgentAvailability
			if err := rows.Scan(&a.UserID, &a.Availability, &a.Connected); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// SetNodeSessions records how many consoles of a user this node holds (0
// forgets the row) and answers whether another node holds one that was seen
// since fresh.
func (db *DB) SetNodeSessions(ctx context.Context, tenantID, userID uuid.UUID, node string, n int, fresh time.Time) (elsewhere bool, err error) {
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if n > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO agent_sessions (tenant_id, user_id, node, sessions, seen_at)
				VALUES ($1, $2, $3, $4, now()) ON CONFLICT (tenant_id, user_id, node)
				DO UPDATE SET sessions = EXCLUDED.sessions, seen_at = now()`, tenantID, userID, node, n); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `DELETE FROM agent_sessions WHERE tenant_id = $1 AND user_id = $2 AND node = $3`,
			tenantID, userID, node); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM agent_sessions WHERE tenant_id = $1 AND user_id = $2
			AND node <> $3 AND seen_at >= $4)`, tenantID, userID, node, fresh).Scan(&elsewhere)
	})
	return elsewhere, translate(err)
}

// TouchNodeSessions is a node's heartbeat: its session rows stay fresh.
func (db *DB) TouchNodeSessions(ctx context.Context, node string) error {
	return translate(db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE agent_sessions SET seen_at = now() WHERE node = $1`, node)
		return err
	}))
}

// TenantUser names a user of a tenant.
type TenantUser struct {
	TenantID, UserID uuid.UUID
}

// DisconnectedAgents are the users who say they are online or away but
// have had no console open anywhere since fresh (their node died, or
// they closed the last tab before the grace period ended); the session
// rows older than that are dropped on the way.
func (db *DB) DisconnectedAgents(ctx context.Context, fresh time.Time) ([]TenantUser, error) {
	var out []TenantUser
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM agent_sessions WHERE seen_at < $1`, fresh); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT u.tenant_id, u.id FROM users u WHERE u.availability <> 'offline'
			AND coalesce(u.last_seen_at, u.created_at) < $1
			AND NOT EXISTS (SELECT 1 FROM agent_sessions s WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id)
			LIMIT 1000`, fresh)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tu TenantUser
			if err := rows.Scan(&tu.TenantID, &tu.UserID); err != nil {
				return err
			}
			out = append(out, tu)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// SetConnectionDefaultTeam sets (nil: clears) the team a connection's new
// conversations join, and audits it. The team must be the tenant's.
func (db *DB) SetConnectionDefaultTeam(ctx context.Context, tenantID, connectionID uuid.UUID, teamID *uuid.UUID, by AuditEntry) (*uuid.UUID, error) {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if teamID != nil {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2)`, tenantID, *teamID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return crm.FieldErrors{"team_id": "no team with this id"}.Err()
			}
		}
		var before *uuid.UUID
		err := tx.QueryRow(ctx, `SELECT default_team_id FROM connections WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
			FOR UPDATE`, tenantID, connectionID).Scan(&before)
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("connection")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET default_team_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, connectionID, teamID); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID = "update", "connection", connectionID
		by.Before, by.After = map[string]any{"default_team_id": before}, map[string]any{"default_team_id": teamID}
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return teamID, translate(err)
}
