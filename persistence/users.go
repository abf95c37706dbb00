package persistence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm"
)

// User is a tenant user as the API shows it: never the password or its hash.
type User struct {
	ID            uuid.UUID   `json:"id"`
	Name          string      `json:"name"`
	Email         string      `json:"email"`
	Role          crm.Role    `json:"role"`
	Active        bool        `json:"active"`
	TeamIDs       []uuid.UUID `json:"team_ids"`
	Availability  string      `json:"availability"`
	LastLoginAt   *time.Time  `json:"last_login_at"`
	DeactivatedAt *time.Time  `json:"deactivated_at"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// NewUser is a validated user to create; the password is already hashed.
type NewUser struct {
	Name         string
	Email        string // trimmed and lower-cased
	PasswordHash string
	Role         crm.Role
	TeamIDs      []uuid.UUID
}

// UserPatch changes only the fields that are not nil.
type UserPatch struct {
	Name         *string
	Email        *string
	PasswordHash *string
	Role         *crm.Role
	Active       *bool
	TeamIDs      *[]uuid.UUID
}

func (p UserPatch) empty() bool {
	return p.Name == nil && p.Email == nil && p.PasswordHash == nil && p.Role == nil && p.Active == nil && p.TeamIDs == nil
}

// UserFilter selects a page of users.
type UserFilter struct {
	Role   crm.Role // empty: any
	Active *bool
	TeamID *uuid.UUID
	Q      string // name or email contains, case-insensitive, taken literally
	Cursor string
	Limit  int
}

const userColumns = `u.id, u.name, u.email, u.role, u.active, u.availability, u.last_login_at, u.deactivated_at,
	u.created_at, u.updated_at,
	ARRAY(SELECT tm.team_id FROM team_members tm WHERE tm.tenant_id = u.tenant_id AND tm.user_id = u.id ORDER BY tm.team_id)`

func scanUser(row pgx.Row, extra ...any) (User, error) {
	var u User
	var role string
	dest := append([]any{&u.ID, &u.Name, &u.Email, &role, &u.Active, &u.Availability, &u.LastLoginAt, &u.DeactivatedAt,
		&u.CreatedAt, &u.UpdatedAt, &u.TeamIDs}, extra...)
	err := row.Scan(dest...)
	u.Role = crm.Role(role)
	if u.TeamIDs == nil {
		u.TeamIDs = []uuid.UUID{}
	}
	return u, err
}

// Errors of the user rules.
var (
	ErrLastAdmin = crm.NewError(crm.ErrConflict, "last_admin",
		"the company must keep at least one active TENANT_ADMIN", nil)
	ErrSelfLockout = crm.NewError(crm.ErrConflict, "self_lockout",
		"you can't deactivate yourself or change your own role", nil)
)

// CreateUser stores a user and its team memberships, audited as by.Actor.
func (db *DB) CreateUser(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewUser) (User, error) {
	var out User
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		teamIDs := directoryDedupe(in.TeamIDs)
		if err := directoryCheckIDs(ctx, tx, tenantID, "teams", "team_ids", "team", teamIDs); err != nil {
			return err
		}
		id := crm.NewID()
		_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role)
			VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, id, in.Name, in.Email, in.PasswordHash, string(in.Role))
		if err != nil {
			return directoryConflict(err, "users_tenant_id_email_key", "email", "a user with this email already exists")
		}
		if err := setUserTeams(ctx, tx, tenantID, id, teamIDs); err != nil {
			return err
		}
		if out, err = loadUser(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "user", id, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// GetUser loads one user of the tenant.
func (db *DB) GetUser(ctx context.Context, tenantID, id uuid.UUID) (User, error) {
	var out User
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadUser(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

func loadUser(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (User, error) {
	query := `SELECT ` + userColumns + ` FROM users u WHERE u.tenant_id = $1 AND u.id = $2`
	if forUpdate {
		query += ` FOR UPDATE OF u`
	}
	u, err := scanUser(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, crm.NotFound("user")
	}
	return u, err
}

// ListUsers returns one page of users ordered by name, then id.
func (db *DB) ListUsers(ctx context.Context, tenantID uuid.UUID, f UserFilter) (crm.Page[User], error) {
	l := newNameList(tenantID, "u", "users u", userColumns)
	if f.Role != "" {
		l.filter("u.role = " + l.arg(string(f.Role)))
	}
	if f.Active != nil {
		l.filter("u.active = " + l.arg(*f.Active))
	}
	if f.TeamID != nil {
		l.filter("EXISTS (SELECT 1 FROM team_members tm WHERE tm.tenant_id = u.tenant_id AND tm.user_id = u.id AND tm.team_id = " + l.arg(*f.TeamID) + ")")
	}
	if f.Q != "" {
		p := l.arg("%" + escapeLike(f.Q) + "%")
		l.filter("(u.name ILIKE " + p + " OR u.email ILIKE " + p + ")")
	}
	return listByName(ctx, db, tenantID, l, f.Cursor, f.Limit, scanUser, func(x User) uuid.UUID { return x.ID })
}

// UpdateUser applies the patch. Changing the password, the role or the active
// flag bumps token_version, so access tokens issued before stop working on the
// next request; deactivating or changing the password also revokes refresh
// tokens. The company always keeps one active TENANT_ADMIN, and an admin can't
// lock themselves out.
func (db *DB) UpdateUser(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch UserPatch) (User, error) {
	return db.changeUser(ctx, tenantID, id, by, patch, "update")
}

// DeactivateUser is how a user is deleted: the row stays (conversations and
// audit rows point at it) but the account can no longer sign in.
func (db *DB) DeactivateUser(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) error {
	inactive := false
	_, err := db.changeUser(ctx, tenantID, id, by, UserPatch{Active: &inactive}, "deactivate")
	return err
}

func (db *DB) changeUser(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch UserPatch, action string) (User, error) {
	var out User
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var admins []uuid.UUID
		if patch.Role != nil || patch.Active != nil {
			// Lock every active admin, in id order, before the target row: two
			// admins demoting each other at once serialise here and the second
			// sees that only one admin is left.
			rows, err := tx.Query(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND role = 'TENANT_ADMIN' AND active
				ORDER BY id FOR UPDATE`, tenantID)
			if err != nil {
				return err
			}
			if admins, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
				return err
			}
		}
		before, err := loadUser(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if patch.empty() {
			out = before
			return nil
		}
		role, active := before.Role, before.Active
		if patch.Role != nil {
			role = *patch.Role
		}
		if patch.Active != nil {
			active = *patch.Active
		}
		wasAdmin := before.Active && before.Role == crm.RoleTenantAdmin
		if wasAdmin && !(active && role == crm.RoleTenantAdmin) {
			others := slices.DeleteFunc(slices.Clone(admins), func(a uuid.UUID) bool { return a == id })
			if len(others) == 0 {
				return ErrLastAdmin
			}
		}
		if id == by.Actor.UserID && (role != before.Role || active != before.Active) {
			return ErrSelfLockout
		}

		set := []string{}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.Name != nil {
			set = append(set, "name = "+arg(*patch.Name))
		}
		if patch.Email != nil {
			set = append(set, "email = "+arg(*patch.Email))
		}
		if patch.PasswordHash != nil {
			set = append(set, "password_hash = "+arg(*patch.PasswordHash))
		}
		if role != before.Role {
			set = append(set, "role = "+arg(string(role)))
		}
		if active != before.Active {
			set = append(set, "active = "+arg(active))
			if active {
				set = append(set, "deactivated_at = NULL")
			} else {
				set = append(set, "deactivated_at = now()", "availability = 'offline'")
			}
		}
		if patch.PasswordHash != nil || role != before.Role || active != before.Active {
			set = append(set, "token_version = token_version + 1")
		}
		if patch.TeamIDs != nil {
			set = append(set, "updated_at = now()") // memberships are part of the user
		}
		if len(set) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`,
				args...); err != nil {
				return directoryConflict(err, "users_tenant_id_email_key", "email", "a user with this email already exists")
			}
		}
		if patch.PasswordHash != nil || (before.Active && !active) {
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now()
				WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL`, tenantID, id); err != nil {
				return err
			}
		}
		if patch.TeamIDs != nil {
			teamIDs := directoryDedupe(*patch.TeamIDs)
			if err := directoryCheckIDs(ctx, tx, tenantID, "teams", "team_ids", "team", teamIDs); err != nil {
				return err
			}
			if err := setUserTeams(ctx, tx, tenantID, id, teamIDs); err != nil {
				return err
			}
		}
		if len(set) == 0 && patch.TeamIDs == nil {
			out = before // nothing changed (e.g. deactivating an inactive user)
			return nil
		}
		if out, err = loadUser(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		type audited struct {
			User
			PasswordChanged bool `json:"password_changed,omitempty"`
		}
		by.Action, by.Entity, by.EntityID = action, "user", id
		by.Before, by.After = before, audited{User: out, PasswordChanged: patch.PasswordHash != nil}
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// setUserTeams makes the user a member of exactly these teams.
func setUserTeams(ctx context.Context, tx pgx.Tx, tenantID, userID uuid.UUID, teamIDs []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM team_members WHERE tenant_id = $1 AND user_id = $2 AND NOT (team_id = ANY($3))`,
		tenantID, userID, teamIDs); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO team_members (tenant_id, team_id, user_id)
		SELECT $1, t, $2 FROM unnest($3::uuid[]) AS t ON CONFLICT DO NOTHING`, tenantID, userID, teamIDs)
	return err
}

// The helpers below are shared by the directory stores: users, teams, labels
// and quick replies.

// directoryConflict turns a unique violation of constraint into a 409 naming
// the field; other errors pass through.
func directoryConflict(err error, constraint, field, message string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint {
		return crm.Conflict(field, message)
	}
	return err
}

// directoryDedupe drops repeated ids, keeping the first occurrence; never nil.
func directoryDedupe(ids []uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ids))
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// directoryCheckIDs fails with a field error unless every id names a row of
// table in this tenant. Under RLS another tenant's ids look just like ids that
// don't exist.
func directoryCheckIDs(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, table, field, thing string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM `+pgx.Identifier{table}.Sanitize()+` WHERE tenant_id = $1 AND id = ANY($2)`,
		tenantID, ids)
	if err != nil {
		return err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			fields := crm.FieldErrors{}
			fields.Add(field, "unknown %s %s", thing, id)
			return fields.Err()
		}
	}
	return nil
}
