package persistence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm"
)

// Team is a group of users that conversations can be routed to.
type Team struct {
	ID          uuid.UUID   `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	MemberIDs   []uuid.UUID `json:"member_ids"`
	TeamRouting
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TeamRouting is how a team takes conversations: distribution, the cap of
// open conversations per agent, the first-response SLA and its own business
// hours (nil: the tenant's).
type TeamRouting struct {
	AutoAssign              crm.AutoAssign     `json:"auto_assign"`
	MaxOpenPerAgent         int                `json:"max_open_per_agent"`
	SLAFirstResponseMinutes int                `json:"sla_first_response_minutes"`
	BusinessHours           *crm.BusinessHours `json:"business_hours"`
}

// NewTeam is a validated team to create.
type NewTeam struct {
	Name        string
	Description string
	MemberIDs   []uuid.UUID
	Routing     TeamRouting
}

// TeamPatch changes only the fields that are not nil; MemberIDs replaces the
// whole membership.
type TeamPatch struct {
	Name        *string
	Description *string
	MemberIDs   *[]uuid.UUID
	// Routing fields: nil leaves them; ClearHours goes back to the tenant's hours.
	AutoAssign              *crm.AutoAssign
	MaxOpenPerAgent         *int
	SLAFirstResponseMinutes *int
	BusinessHours           *crm.BusinessHours
	ClearHours              bool
}

// TeamFilter selects a page of teams.
type TeamFilter struct {
	Q      string // name contains, case-insensitive, taken literally
	Cursor string
	Limit  int
}

const teamColumns = `t.id, t.name, t.description, t.created_at, t.updated_at,
	t.auto_assign, t.max_open_per_agent, t.sla_first_response_minutes, t.business_hours,
	ARRAY(SELECT tm.user_id FROM team_members tm WHERE tm.tenant_id = t.tenant_id AND tm.team_id = t.id ORDER BY tm.user_id)`

const teamNameConstraint = "teams_tenant_id_name_key"

func scanTeam(row pgx.Row, extra ...any) (Team, error) {
	var t Team
	err := row.Scan(append([]any{&t.ID, &t.Name, &t.Description, &t.CreatedAt, &t.UpdatedAt,
		&t.AutoAssign, &t.MaxOpenPerAgent, &t.SLAFirstResponseMinutes, &t.BusinessHours, &t.MemberIDs}, extra...)...)
	if t.MemberIDs == nil {
		t.MemberIDs = []uuid.UUID{}
	}
	return t, err
}

func loadTeam(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (Team, error) {
	query := `SELECT ` + teamColumns + ` FROM teams t WHERE t.tenant_id = $1 AND t.id = $2`
	if forUpdate {
		query += ` FOR UPDATE OF t`
	}
	t, err := scanTeam(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, crm.NotFound("team")
	}
	return t, err
}

// CreateTeam stores a team with its members.
func (db *DB) CreateTeam(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewTeam) (Team, error) {
	var out Team
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		members := directoryDedupe(in.MemberIDs)
		if err := directoryCheckIDs(ctx, tx, tenantID, "users", "member_ids", "user", members); err != nil {
			return err
		}
		id := crm.NewID()
		mode := in.Routing.AutoAssign
		if mode == "" {
			mode = crm.AutoAssignOff
		}
		if _, err := tx.Exec(ctx, `INSERT INTO teams (tenant_id, id, name, description, auto_assign, max_open_per_agent,
			sla_first_response_minutes, business_hours) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			tenantID, id, in.Name, in.Description, mode, in.Routing.MaxOpenPerAgent, in.Routing.SLAFirstResponseMinutes,
			in.Routing.BusinessHours); err != nil {
			return directoryConflict(err, teamNameConstraint, "name", "a team with this name already exists")
		}
		if err := setTeamMembers(ctx, tx, tenantID, id, members); err != nil {
			return err
		}
		var err error
		if out, err = loadTeam(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "team", id, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// GetTeam loads one team of the tenant.
func (db *DB) GetTeam(ctx context.Context, tenantID, id uuid.UUID) (Team, error) {
	var out Team
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadTeam(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// ListTeams returns one page of teams ordered by name, then id.
func (db *DB) ListTeams(ctx context.Context, tenantID uuid.UUID, f TeamFilter) (crm.Page[Team], error) {
	l := newNameList(tenantID, "t", "teams t", teamColumns)
	if f.Q != "" {
		l.filter("t.name ILIKE " + l.arg("%"+escapeLike(f.Q)+"%"))
	}
	return listByName(ctx, db, tenantID, l, f.Cursor, f.Limit, scanTeam, func(x Team) uuid.UUID { return x.ID })
}

// UpdateTeam applies the patch.
func (db *DB) UpdateTeam(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch TeamPatch) (Team, error) {
	var out Team
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadTeam(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if patch.Name == nil && patch.Description == nil && patch.MemberIDs == nil && patch.AutoAssign == nil &&
			patch.MaxOpenPerAgent == nil && patch.SLAFirstResponseMinutes == nil && patch.BusinessHours == nil && !patch.ClearHours {
			out = before
			return nil
		}
		set := []string{}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.Name != nil {
			set = append(set, "name = "+arg(*patch.Name))
		}
		if patch.Description != nil {
			set = append(set, "description = "+arg(*patch.Description))
		}
		if patch.AutoAssign != nil {
			set = append(set, "auto_assign = "+arg(*patch.AutoAssign))
		}
		if patch.MaxOpenPerAgent != nil {
			set = append(set, "max_open_per_agent = "+arg(*patch.MaxOpenPerAgent))
		}
		if patch.SLAFirstResponseMinutes != nil {
			set = append(set, "sla_first_response_minutes = "+arg(*patch.SLAFirstResponseMinutes))
		}
		if patch.BusinessHours != nil {
			set = append(set, "business_hours = "+arg(patch.BusinessHours))
		} else if patch.ClearHours {
			set = append(set, "business_hours = NULL")
		}
		if patch.MemberIDs != nil {
			members := directoryDedupe(*patch.MemberIDs)
			if err := directoryCheckIDs(ctx, tx, tenantID, "users", "member_ids", "user", members); err != nil {
				return err
			}
			if err := setTeamMembers(ctx, tx, tenantID, id, members); err != nil {
				return err
			}
		}
		set = append(set, "updated_at = now()")
		if _, err := tx.Exec(ctx, `UPDATE teams SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`,
			args...); err != nil {
			return directoryConflict(err, teamNameConstraint, "name", "a team with this name already exists")
		}
		if out, err = loadTeam(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "team", id, before, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// DeleteTeam removes a team and its memberships. A team that conversations
// still point at can't be deleted.
func (db *DB) DeleteTeam(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadTeam(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM teams WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23503" {
				return crm.NewError(crm.ErrConflict, "team_in_use",
					"conversations are still assigned to this team; move them first", nil)
			}
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "team", id, before, nil
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return translate(err)
}

// setTeamMembers makes exactly these users the team's members.
func setTeamMembers(ctx context.Context, tx pgx.Tx, tenantID, teamID uuid.UUID, userIDs []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2 AND NOT (user_id = ANY($3))`,
		tenantID, teamID, userIDs); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO team_members (tenant_id, team_id, user_id)
		SELECT $1, $2, u FROM unnest($3::uuid[]) AS u ON CONFLICT DO NOTHING`, tenantID, teamID, userIDs)
	return err
}
