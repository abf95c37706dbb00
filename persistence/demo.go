package persistence

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// EnsureDemoUser creates a user unless one with the email exists (demo seeding).
func (db *DB) EnsureDemoUser(ctx context.Context, tenantID uuid.UUID, name, email string, role crm.Role, passwordHash string) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, email) DO NOTHING`,
			tenantID, crm.NewID(), name, email, passwordHash, string(role))
		return err
	}))
}

// DemoContent is what the demo company starts with, so its first inbox
// and settings are not empty.
type DemoContent struct {
	Labels       []NewLabel
	QuickReplies []NewQuickReply
	Team         string      // a team's name
	TeamMembers  []uuid.UUID // its members
}

// EnsureDemoContent adds the labels, quick replies and team that are not
// there yet (by name and shortcut), and the members to the team; running it
// again changes nothing.
func (db *DB) EnsureDemoContent(ctx context.Context, tenantID uuid.UUID, c DemoContent) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		for _, l := range c.Labels {
			if _, err := tx.Exec(ctx, `INSERT INTO labels (tenant_id, id, name, color) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, name) DO NOTHING`, tenantID, crm.NewID(), l.Name, l.Color); err != nil {
				return err
			}
		}
		for _, q := range c.QuickReplies {
			if _, err := tx.Exec(ctx, `INSERT INTO quick_replies (tenant_id, id, shortcut, title, text) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (tenant_id, shortcut) DO NOTHING`, tenantID, crm.NewID(), q.Shortcut, q.Title, q.Text); err != nil {
				return err
			}
		}
		if c.Team == "" {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO teams (tenant_id, id, name) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, name) DO NOTHING`, tenantID, crm.NewID(), c.Team); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO team_members (tenant_id, team_id, user_id)
			SELECT $1, t.id, u FROM teams t, unnest($3::uuid[]) u WHERE t.tenant_id = $1 AND t.name = $2
			ON CONFLICT DO NOTHING`, tenantID, c.Team, c.TeamMembers)
		return err
	}))
}

// DemoUserID is the id of the tenant's user with this email.
func (db *DB) DemoUserID(ctx context.Context, tenantID uuid.UUID, email string) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND email = $2`, tenantID, email).Scan(&id)
	})
	return id, translate(err)
}
