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
