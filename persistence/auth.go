package persistence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Account is what authentication needs to know about a user or super admin.
type Account struct {
	ID           uuid.UUID
	TenantID     uuid.UUID // uuid.Nil for super admins
	TenantSlug   string
	TenantName   string
	TenantStatus string
	Role         crm.Role
	Name         string
	Email        string
	PasswordHash string
	Active       bool
	TokenVersion int
	// Signature is the user's own switch (on unless they turned it off);
	// TenantSignature the company's (tenants.settings.agent_signature, off
	// unless an admin turned it on). Messages are signed when both are on.
	Signature       bool
	TenantSignature bool
}

// Principal is the account as a request principal.
func (a Account) Principal() crm.Principal {
	return crm.Principal{UserID: a.ID, TenantID: a.TenantID, Role: a.Role, Name: a.Name, Email: a.Email,
		Signs: a.Signature && a.TenantSignature}
}

// FindAccountsByEmail returns every account with this email: super admins and
// users of any tenant. Login has no tenant yet, so this is one of the few
// platform-path reads that tenant-facing code makes; it is keyed only by the
// email being logged into.
func (db *DB) FindAccountsByEmail(ctx context.Context, email string) ([]Account, error) {
	var out []Account
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', 'active', 'SUPER_ADMIN',
			       name, email, password_hash, active, token_version, false, false
			FROM platform_admins WHERE email = $1
			UNION ALL
			SELECT u.id, u.tenant_id, t.slug, t.name, t.status, u.role, u.name, u.email, u.password_hash,
			       u.active, u.token_version, u.signature, `+tenantSignatureSQL+`
			FROM users u JOIN tenants t ON t.id = u.tenant_id
			WHERE u.email = $1 AND t.status <> 'deleted'`, email)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanAccount)
		return err
	})
	return out, translate(err)
}

// tenantSignatureSQL reads the company's signature switch from the tenants
// row t (a settings key, off when absent).
const tenantSignatureSQL = `coalesce((t.settings->>'agent_signature')::boolean, false)`

func scanAccount(row pgx.CollectableRow) (Account, error) { return scanAccountRow(row) }

func scanAccountRow(row pgx.Row) (Account, error) {
	var a Account
	var role string
	err := row.Scan(&a.ID, &a.TenantID, &a.TenantSlug, &a.TenantName, &a.TenantStatus, &role, &a.Name, &a.Email,
		&a.PasswordHash, &a.Active, &a.TokenVersion, &a.Signature, &a.TenantSignature)
	a.Role = crm.Role(role)
	return a, err
}

// LoadAccount loads the account an access token names, with its tenant's status.
func (db *DB) LoadAccount(ctx context.Context, tenantID, userID uuid.UUID) (Account, error) {
	var a Account
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var row pgx.Row
		if tenantID == uuid.Nil {
			row = tx.QueryRow(ctx, `
				SELECT id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', 'active', 'SUPER_ADMIN',
				       name, email, password_hash, active, token_version, false, false
				FROM platform_admins WHERE id = $1`, userID)
		} else {
			row = tx.QueryRow(ctx, `
				SELECT u.id, u.tenant_id, t.slug, t.name, t.status, u.role, u.name, u.email, u.password_hash,
				       u.active, u.token_version, u.signature, `+tenantSignatureSQL+`
				FROM users u JOIN tenants t ON t.id = u.tenant_id
				WHERE u.tenant_id = $1 AND u.id = $2`, tenantID, userID)
		}
		var err error
		a, err = scanAccountRow(row)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return a, crm.NotFound("account")
	}
	return a, translate(err)
}

// RefreshToken is a stored refresh token (the hash of the secret).
type RefreshToken struct {
	ID        uuid.UUID
	TenantID  uuid.UUID
	UserID    uuid.UUID
	FamilyID  uuid.UUID
	Hash      []byte
	ExpiresAt time.Time
	UserAgent string
	IP        string
}

// SaveRefreshToken stores a new refresh token.
func (db *DB) SaveRefreshToken(ctx context.Context, t RefreshToken) error {
	if t.TenantID == uuid.Nil {
		return translate(db.PlatformTx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO platform_refresh_tokens (id, admin_id, family_id, token_hash, expires_at)
				VALUES ($1, $2, $3, $4, $5)`, t.ID, t.UserID, t.FamilyID, t.Hash, t.ExpiresAt)
			return err
		}))
	}
	return translate(db.TenantTx(ctx, t.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at, user_agent, ip)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.TenantID, t.ID, t.UserID, t.FamilyID, t.Hash, t.ExpiresAt, t.UserAgent, t.IP)
		return err
	}))
}

// Refresh token failures.
var (
	ErrRefreshInvalid = crm.NewError(crm.ErrUnauthenticated, "invalid_refresh_token", "refresh token is invalid or expired", nil)
	ErrRefreshReused  = crm.NewError(crm.ErrUnauthenticated, "refresh_token_reused",
		"refresh token was already used; every session of this login was signed out", nil)
)

// RotateRefreshToken consumes the token with oldHash and stores next in the
// same family. Presenting a token that was already used revokes its whole
// family (a stolen token was replayed) and fails.
func (db *DB) RotateRefreshToken(ctx context.Context, tenantID uuid.UUID, oldHash []byte, next RefreshToken, now time.Time) (uuid.UUID, error) {
	table, owner := "refresh_tokens", "user_id"
	run := func(fn func(pgx.Tx) error) error { return db.TenantTx(ctx, tenantID, fn) }
	if tenantID == uuid.Nil {
		table, owner = "platform_refresh_tokens", "admin_id"
		run = func(fn func(pgx.Tx) error) error { return db.PlatformTx(ctx, fn) }
	}
	var userID uuid.UUID
	var reused bool
	err := run(func(tx pgx.Tx) error {
		var id, family uuid.UUID
		var expires time.Time
		var used, revoked *time.Time
		err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT id, %s, family_id, expires_at, used_at, revoked_at FROM %s
			WHERE token_hash = $1 FOR UPDATE`, owner, table), oldHash).Scan(&id, &userID, &family, &expires, &used, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		if revoked != nil || !expires.After(now) {
			return ErrRefreshInvalid
		}
		if used != nil {
			reused = true
			_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, table), family, now)
			return err // commit the revocation
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET used_at = $2 WHERE id = $1`, table), id, now); err != nil {
			return err
		}
		if tenantID == uuid.Nil {
			_, err = tx.Exec(ctx, `INSERT INTO platform_refresh_tokens (id, admin_id, family_id, token_hash, expires_at)
				VALUES ($1, $2, $3, $4, $5)`, next.ID, userID, family, next.Hash, next.ExpiresAt)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at, user_agent, ip)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantID, next.ID, userID, family, next.Hash, next.ExpiresAt, next.UserAgent, next.IP)
		}
		return err
	})
	if err != nil {
		return uuid.Nil, translate(err)
	}
	if reused {
		return uuid.Nil, ErrRefreshReused
	}
	return userID, nil
}

// RevokeRefreshFamily revokes every token of the family the given token belongs to.
func (db *DB) RevokeRefreshFamily(ctx context.Context, tenantID uuid.UUID, hash []byte, now time.Time) error {
	table := "refresh_tokens"
	run := func(fn func(pgx.Tx) error) error { return db.TenantTx(ctx, tenantID, fn) }
	if tenantID == uuid.Nil {
		table = "platform_refresh_tokens"
		run = func(fn func(pgx.Tx) error) error { return db.PlatformTx(ctx, fn) }
	}
	return translate(run(func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %[1]s SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id =
			(SELECT family_id FROM %[1]s WHERE token_hash = $1)`, table), hash, now)
		return err
	}))
}

// RecordLogin stamps last_login_at.
func (db *DB) RecordLogin(ctx context.Context, a Account, at time.Time) error {
	if a.TenantID == uuid.Nil {
		return translate(db.PlatformTx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE platform_admins SET last_login_at = $2 WHERE id = $1`, a.ID, at)
			return err
		}))
	}
	return translate(db.TenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET last_login_at = $2 WHERE tenant_id = $1 AND id = $3`, a.TenantID, at, a.ID)
		return err
	}))
}

// CreateSuperAdmin creates a platform admin, or updates the password of an
// existing one with the same email (idempotent for `crm admin create-superadmin`).
func (db *DB) CreateSuperAdmin(ctx context.Context, name, email, passwordHash string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	var created bool
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id FROM platform_admins WHERE email = $1`, email).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			id, created = crm.NewID(), true
			_, err = tx.Exec(ctx, `INSERT INTO platform_admins (id, name, email, password_hash) VALUES ($1, $2, $3, $4)`,
				id, name, email, passwordHash)
			return err
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE platform_admins SET password_hash = $2, active = true, token_version = token_version + 1
			WHERE id = $1`, id, passwordHash)
		return err
	})
	return id, created, translate(err)
}
