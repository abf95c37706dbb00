package persistence

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// TenantSettings are the switches a tenant admin sets for the whole company.
type TenantSettings struct {
	// AgentSignature signs agents' text messages with their name (off by default).
	AgentSignature bool `json:"agent_signature"`
}

// GetTenantSettings reads the company's switches (tenants.settings).
func (db *DB) GetTenantSettings(ctx context.Context, tenantID uuid.UUID) (TenantSettings, error) {
	var out TenantSettings
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT `+tenantSignatureSQL+` FROM tenants t WHERE t.id = $1`, tenantID).Scan(&out.AgentSignature)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return out, crm.NotFound("tenant")
	}
	return out, translate(err)
}

// SetTenantSettings stores the company's switches and audits the change in
// the tenant's log. Only the tenant's own id is ever passed in.
func (db *DB) SetTenantSettings(ctx context.Context, tenantID uuid.UUID, by AuditEntry, s TenantSettings) (TenantSettings, error) {
	before, err := db.GetTenantSettings(ctx, tenantID)
	if err != nil {
		return before, err
	}
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET settings = settings || jsonb_build_object('agent_signature', $2::boolean),
			updated_at = now() WHERE id = $1`, tenantID, s.AgentSignature)
		return err
	})
	if err != nil {
		return before, translate(err)
	}
	by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "tenant_settings", tenantID, before, s
	return s, translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error { return WriteAudit(ctx, tx, tenantID, by) }))
}

// SetOwnSignature turns the user's own signature on or off.
func (db *DB) SetOwnSignature(ctx context.Context, tenantID, userID uuid.UUID, on bool) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET signature = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, userID, on)
		if err == nil && tag.RowsAffected() == 0 {
			return crm.NotFound("user")
		}
		return err
	}))
}
