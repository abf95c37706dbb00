package persistence

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// AuditEntry is one change made by an admin.
type AuditEntry struct {
	Actor    crm.Principal
	IP       string
	Action   string // create, update, delete, suspend, …
	Entity   string // user, team, contact, plan, tenant, license, …
	EntityID uuid.UUID
	Before   any // the record before (nil on create); secrets are masked
	After    any // the record after (nil on delete)
}

// secretKeys are masked wherever they appear in an audited record.
var secretKeys = []string{"password", "password_hash", "secret", "token", "credentials", "access_token",
	"app_secret", "instance_token", "key"}

// maskSecrets turns v into JSON with every secret-looking field replaced by "***".
func maskSecrets(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return raw, nil
	}
	return json.Marshal(mask(generic))
}

func mask(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, inner := range t {
			lk := strings.ToLower(k)
			secret := false
			for _, s := range secretKeys {
				if lk == s || strings.HasSuffix(lk, "_"+s) {
					secret = true
					break
				}
			}
			if secret {
				t[k] = "***"
			} else {
				t[k] = mask(inner)
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = mask(t[i])
		}
		return t
	}
	return v
}

// WriteAudit records a tenant-scoped change inside the caller's tenant
// transaction, so the change and its audit row commit together.
func WriteAudit(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, e AuditEntry) error {
	before, err := maskSecrets(e.Before)
	if err != nil {
		return err
	}
	after, err := maskSecrets(e.After)
	if err != nil {
		return err
	}
	var entityID *uuid.UUID
	if e.EntityID != uuid.Nil {
		entityID = &e.EntityID
	}
	var actorID *uuid.UUID
	if e.Actor.UserID != uuid.Nil {
		actorID = &e.Actor.UserID
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (tenant_id, id, actor_id, actor_email, actor_role, action, entity,
		entity_id, ip, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		tenantID, crm.NewID(), actorID, e.Actor.Email, string(e.Actor.Role), e.Action, e.Entity, entityID, e.IP,
		before, after)
	return translate(err)
}

// WritePlatformAudit records a platform owner's change inside a platform transaction.
func WritePlatformAudit(ctx context.Context, tx pgx.Tx, tenantRef uuid.UUID, e AuditEntry) error {
	before, err := maskSecrets(e.Before)
	if err != nil {
		return err
	}
	after, err := maskSecrets(e.After)
	if err != nil {
		return err
	}
	var entityID, ref, actorID *uuid.UUID
	if e.EntityID != uuid.Nil {
		entityID = &e.EntityID
	}
	if tenantRef != uuid.Nil {
		ref = &tenantRef
	}
	if e.Actor.UserID != uuid.Nil {
		actorID = &e.Actor.UserID
	}
	_, err = tx.Exec(ctx, `INSERT INTO platform_audit_log (id, actor_id, actor_email, action, entity, entity_id,
		tenant_ref, ip, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		crm.NewID(), actorID, e.Actor.Email, e.Action, e.Entity, entityID, ref, e.IP, before, after)
	return translate(err)
}
