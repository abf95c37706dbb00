package persistence

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// APIToken is an API token as its tenant's admins see it: never its secret
// nor its hash.
type APIToken struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// Scope is read or write.
	Scope string `json:"scope"`
	// Prefix is the token's public start, "crm_<lookup id>", to tell tokens apart.
	Prefix     string     `json:"prefix"`
	CreatedBy  *uuid.UUID `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// NewAPIToken is a validated token to store: LookupID is the 16-hex id
// printed in the token, Hash the SHA-256 of the whole token.
type NewAPIToken struct {
	Name     string
	Scope    string
	LookupID string
	Hash     []byte
}

// APITokenCredential is what authenticating a token needs: the stored hash
// to compare, the token's standing and its tenant's.
type APITokenCredential struct {
	TenantID     uuid.UUID
	ID           uuid.UUID
	Name         string
	Scope        string
	Hash         []byte
	Revoked      bool
	ExpiresAt    *time.Time
	LastUsedAt   *time.Time
	TenantStatus string
	// APIFeature: the tenant's plan has the api feature on.
	APIFeature bool
}

// apiTokenNameConstraint is the partial unique index on active tokens' names.
const apiTokenNameConstraint = "api_tokens_active_name"

const apiTokenColumns = `k.id, k.name, k.scope, 'crm_' || k.prefix, k.created_by, k.created_at, k.last_used_at`

func scanAPIToken(row pgx.Row, extra ...any) (APIToken, error) {
	var k APIToken
	err := row.Scan(append([]any{&k.ID, &k.Name, &k.Scope, &k.Prefix, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt}, extra...)...)
	return k, err
}

// ListAPITokens lists the tenant's tokens that are not revoked, by name.
func (db *DB) ListAPITokens(ctx context.Context, tenantID uuid.UUID, cursor string, limit int) (crm.Page[APIToken], error) {
	l := newNameList(tenantID, "k", "api_tokens k", apiTokenColumns)
	l.filter("k.revoked_at IS NULL")
	return listByName(ctx, db, tenantID, l, cursor, limit, scanAPIToken, func(k APIToken) uuid.UUID { return k.ID })
}

// CreateAPIToken stores a token created by by.Actor and audits it.
func (db *DB) CreateAPIToken(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewAPIToken) (APIToken, error) {
	var out APIToken
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var createdBy *uuid.UUID
		if by.Actor.UserID != uuid.Nil {
			createdBy = &by.Actor.UserID
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (tenant_id, id, name, prefix, token_hash, scope, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, id, in.Name, in.LookupID, in.Hash, in.Scope, createdBy); err != nil {
			return directoryConflict(err, apiTokenNameConstraint, "name", "an API token with this name already exists")
		}
		var err error
		out, err = scanAPIToken(tx.QueryRow(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens k WHERE k.tenant_id = $1 AND k.id = $2`,
			tenantID, id))
		if err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "api_token", id, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// RevokeAPIToken revokes an active token of the tenant and audits it; the
// row stays (for the audit trail) but the token no longer authenticates.
func (db *DB) RevokeAPIToken(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, at time.Time) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var revokedBy *uuid.UUID
		if by.Actor.UserID != uuid.Nil {
			revokedBy = &by.Actor.UserID
		}
		before, err := scanAPIToken(tx.QueryRow(ctx, `UPDATE api_tokens k SET revoked_at = $3, revoked_by = $4
			WHERE k.tenant_id = $1 AND k.id = $2 AND k.revoked_at IS NULL RETURNING `+apiTokenColumns, tenantID, id, at, revokedBy))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("API token")
		}
		if err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "revoke", "api_token", id, before, nil
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return translate(err)
}

// FindAPITokens returns the tokens whose lookup id is lookupID, in any
// tenant (almost always none or one), with their tenant's status and plan
// feature. A request carries no tenant before its token is known, so this
// is one of the few platform-path reads tenant-facing code makes (as
// FindAccountsByEmail for a login); it is keyed only by the presented token,
// and the caller compares the hash before trusting any row.
func (db *DB) FindAPITokens(ctx context.Context, lookupID string) ([]APITokenCredential, error) {
	var out []APITokenCredential
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT k.tenant_id, k.id, k.name, k.scope, k.token_hash, k.revoked_at IS NOT NULL,
			k.expires_at, k.last_used_at, t.status, coalesce((p.features->>'api')::boolean, false)
			FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN plans p ON p.id = t.plan_id
			WHERE k.prefix = $1 LIMIT 8`, lookupID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (APITokenCredential, error) {
			var k APITokenCredential
			err := row.Scan(&k.TenantID, &k.ID, &k.Name, &k.Scope, &k.Hash, &k.Revoked, &k.ExpiresAt, &k.LastUsedAt,
				&k.TenantStatus, &k.APIFeature)
			return k, err
		})
		return err
	})
	return out, translate(err)
}

// TouchAPIToken records a use of the token at most once per interval: the
// update is skipped while the stored time is more recent, so a busy token
// costs one write a minute, not one per request.
func (db *DB) TouchAPIToken(ctx context.Context, tenantID, id uuid.UUID, at time.Time, interval time.Duration) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE api_tokens SET last_used_at = $3
			WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $4)`,
			tenantID, id, at, at.Add(-interval))
		return err
	})
	return translate(err)
}
