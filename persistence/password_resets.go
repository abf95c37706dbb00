package persistence

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// PasswordReset is the stored half of a reset link: the SHA-256 of its
// secret, never the secret.
type PasswordReset struct {
	ID        uuid.UUID
	TenantID  uuid.UUID // uuid.Nil for a super admin
	UserID    uuid.UUID
	Hash      []byte
	ExpiresAt time.Time
	IP        string
}

// ErrResetInvalid is every way a reset link can fail: unknown, expired,
// used, replaced by a newer one, or its account gone. One answer for all,
// so the link's owner learns nothing more than "ask for a new one".
var ErrResetInvalid = crm.NewError(crm.ErrInvalid, "invalid_reset_token",
	"this password reset link is invalid, expired or was already used; ask for a new one",
	map[string]any{"fields": map[string]any{"token": "is invalid, expired or already used"}})

// SavePasswordReset stores a reset link for the account, deleting its older
// ones: only the newest link works. by is who asked (the platform owner, or
// the account itself, with no principal, from the login page); the request
// is audited where the account's admins (or the platform owner) see it.
func (db *DB) SavePasswordReset(ctx context.Context, r PasswordReset, by AuditEntry) error {
	if r.TenantID == uuid.Nil {
		return translate(db.PlatformTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM platform_password_resets WHERE admin_id = $1`, r.UserID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO platform_password_resets (id, admin_id, token_hash, expires_at, ip)
				VALUES ($1, $2, $3, $4, $5)`, r.ID, r.UserID, r.Hash, r.ExpiresAt, r.IP); err != nil {
				return err
			}
			by.Action, by.Entity, by.EntityID = "password_reset_requested", "platform_admin", r.UserID
			by.After = map[string]any{"expires_at": r.ExpiresAt}
			return WritePlatformAudit(ctx, tx, uuid.Nil, by)
		}))
	}
	write := func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE tenant_id = $1 AND user_id = $2`, r.TenantID, r.UserID); err != nil {
			return err
		}
		var requestedBy *uuid.UUID
		if by.Actor.IsPlatform() && by.Actor.UserID != uuid.Nil {
			requestedBy = &by.Actor.UserID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO password_resets (tenant_id, id, user_id, token_hash, expires_at, requested_by, ip)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.TenantID, r.ID, r.UserID, r.Hash, r.ExpiresAt, requestedBy, r.IP); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID = "password_reset_requested", "user", r.UserID
		by.After = map[string]any{"expires_at": r.ExpiresAt}
		if requestedBy != nil {
			return auditTenantChange(ctx, tx, r.TenantID, by)
		}
		return WriteAudit(ctx, tx, r.TenantID, by)
	}
	if by.Actor.IsPlatform() {
		return translate(db.PlatformTx(ctx, write))
	}
	return translate(db.TenantTx(ctx, r.TenantID, write))
}

// ResetPassword spends the reset link with this hash: the account gets the
// new password, every refresh token of it is revoked and its token version
// moves on (so access tokens issued before stop working on their next
// request), and the link is marked used, all in one transaction. It
// answers the account's id, or ErrResetInvalid.
func (db *DB) ResetPassword(ctx context.Context, tenantID uuid.UUID, hash []byte, passwordHash string, now time.Time, ip string) (uuid.UUID, error) {
	var userID uuid.UUID
	if tenantID == uuid.Nil {
		err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
			var id uuid.UUID
			err := tx.QueryRow(ctx, `SELECT r.id, r.admin_id FROM platform_password_resets r
				JOIN platform_admins a ON a.id = r.admin_id
				WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND a.active
				FOR UPDATE OF r`, hash, now).Scan(&id, &userID)
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrResetInvalid
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE platform_password_resets SET used_at = $2 WHERE id = $1`, id, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE platform_admins SET password_hash = $2, token_version = token_version + 1,
				updated_at = now() WHERE id = $1`, userID, passwordHash); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE platform_refresh_tokens SET revoked_at = $2 WHERE admin_id = $1 AND revoked_at IS NULL`,
				userID, now); err != nil {
				return err
			}
			return WritePlatformAudit(ctx, tx, uuid.Nil, AuditEntry{IP: ip, Action: "password_reset", Entity: "platform_admin",
				EntityID: userID, After: map[string]any{"password_changed": true, "sessions_revoked": true}})
		})
		return userID, translate(err)
	}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var id uuid.UUID
		var email string
		err := tx.QueryRow(ctx, `SELECT r.id, r.user_id, u.email FROM password_resets r
			JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
			WHERE r.tenant_id = $1 AND r.token_hash = $2 AND r.used_at IS NULL AND r.expires_at > $3 AND u.active
			FOR UPDATE OF r`, tenantID, hash, now).Scan(&id, &userID, &email)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrResetInvalid
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, token_version = token_version + 1, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, tenantID, userID, passwordHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL`,
			tenantID, userID, now); err != nil {
			return err
		}
		actor := crm.Principal{UserID: userID, TenantID: tenantID, Email: email}
		return WriteAudit(ctx, tx, tenantID, AuditEntry{Actor: actor, IP: ip, Action: "password_reset", Entity: "user",
			EntityID: userID, After: map[string]any{"password_changed": true, "sessions_revoked": true}})
	})
	return userID, translate(err)
}

// ChangeOwnPassword sets the signed-in account's password and revokes its
// refresh tokens except those of keepFamilyOf's family (the session asking,
// when it named its refresh token; nil revokes all). Its token version
// stays: the session asking keeps its access token, and the other
// sessions' access tokens die within their short lifetime, their refresh
// tokens already being revoked.
func (db *DB) ChangeOwnPassword(ctx context.Context, p crm.Principal, passwordHash string, keepFamilyOf []byte, now time.Time, ip string) error {
	entry := AuditEntry{Actor: p, IP: ip, Action: "password_change", EntityID: p.UserID,
		After: map[string]any{"password_changed": true, "other_sessions_revoked": true}}
	if p.TenantID == uuid.Nil {
		entry.Entity = "platform_admin"
		return translate(db.PlatformTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE platform_admins SET password_hash = $2, updated_at = now() WHERE id = $1`,
				p.UserID, passwordHash); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE platform_refresh_tokens SET revoked_at = $2
				WHERE admin_id = $1 AND revoked_at IS NULL AND family_id IS DISTINCT FROM
				(SELECT family_id FROM platform_refresh_tokens WHERE token_hash = $3 AND admin_id = $1)`,
				p.UserID, now, keepFamilyOf); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM platform_password_resets WHERE admin_id = $1`, p.UserID); err != nil {
				return err
			}
			return WritePlatformAudit(ctx, tx, uuid.Nil, entry)
		}))
	}
	entry.Entity = "user"
	return translate(db.TenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			p.TenantID, p.UserID, passwordHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $3
			WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND family_id IS DISTINCT FROM
			(SELECT family_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $4 AND user_id = $2)`,
			p.TenantID, p.UserID, now, keepFamilyOf); err != nil {
			return err
		}
		// A reset link asked for before the change would undo it.
		if _, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE tenant_id = $1 AND user_id = $2`, p.TenantID, p.UserID); err != nil {
			return err
		}
		return WriteAudit(ctx, tx, p.TenantID, entry)
	}))
}

// TenantAdminAccount is a tenant admin as the platform owner lists them.
type TenantAdminAccount struct {
	ID          uuid.UUID  `json:"id"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	Active      bool       `json:"active"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

// ListTenantAdmins returns the tenant's TENANT_ADMIN users, active first,
// then by name (the platform path: the owner looks across tenants). A
// tenant that does not exist or was deleted is not found.
func (db *DB) ListTenantAdmins(ctx context.Context, tenantID uuid.UUID) ([]TenantAdminAccount, error) {
	var out []TenantAdminAccount
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1 AND status <> 'deleted')`,
			tenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return crm.NotFound("tenant")
		}
		rows, err := tx.Query(ctx, `SELECT id, name, email, active, last_login_at FROM users
			WHERE tenant_id = $1 AND role = 'TENANT_ADMIN' ORDER BY active DESC, name, id`, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (TenantAdminAccount, error) {
			var a TenantAdminAccount
			err := row.Scan(&a.ID, &a.Name, &a.Email, &a.Active, &a.LastLoginAt)
			return a, err
		})
		return err
	})
	return out, translate(err)
}

// LoadTenantAdmin loads one of the tenant's active admins as an account (the
// platform owner's reset): not found unless the user exists, is active, is a
// TENANT_ADMIN and the tenant is not deleted.
func (db *DB) LoadTenantAdmin(ctx context.Context, tenantID, userID uuid.UUID) (Account, error) {
	a, err := db.LoadAccount(ctx, tenantID, userID)
	if err != nil {
		return a, err
	}
	if a.Role != crm.RoleTenantAdmin || !a.Active || a.TenantStatus == "deleted" {
		return Account{}, crm.NotFound("tenant admin")
	}
	return a, nil
}
