package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm"
)

// NewPlan is what creating a plan takes.
type NewPlan struct {
	Name         string
	Description  string
	MonthlyPrice string // numeric(12,2) as text, e.g. "199.90"
	Limits       crm.PlanLimits
	Features     crm.PlanFeatures
}

func limitArg(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

func limitValue(n *int) int {
	if n == nil {
		return crm.Unlimited
	}
	return *n
}

// CreatePlan stores a plan (platform path) without auditing; seeding uses it.
func (db *DB) CreatePlan(ctx context.Context, p NewPlan) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = insertPlan(ctx, tx, p)
		return err
	})
	return id, translate(err)
}

func insertPlan(ctx context.Context, tx pgx.Tx, p NewPlan) (uuid.UUID, error) {
	id := crm.NewID()
	features, err := json.Marshal(p.Features)
	if err != nil {
		return id, fmt.Errorf("encoding the plan's features: %w", err)
	}
	if p.MonthlyPrice == "" {
		p.MonthlyPrice = "0"
	}
	_, err = tx.Exec(ctx, `INSERT INTO plans (id, name, description, monthly_price, max_users, max_connections,
		max_contacts, max_monthly_conversations, max_monthly_campaigns, features)
		VALUES ($1, $2, $3, $4::numeric, $5, $6, $7, $8, $9, $10)`, id, p.Name, p.Description, p.MonthlyPrice,
		limitArg(p.Limits.Users), limitArg(p.Limits.Connections), limitArg(p.Limits.Contacts),
		limitArg(p.Limits.MonthlyConversations), limitArg(p.Limits.MonthlyCampaigns), features)
	if err != nil {
		return id, planWriteError(err)
	}
	return id, nil
}

func planWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return crm.Conflict("name", "a plan with this name already exists")
	}
	return translate(err)
}

// AdminCreatePlan stores a plan and audits it as by.
func (db *DB) AdminCreatePlan(ctx context.Context, by AuditEntry, p NewPlan) (crm.Plan, error) {
	var out crm.Plan
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		id, err := insertPlan(ctx, tx, p)
		if err != nil {
			return err
		}
		if out, err = loadPlan(ctx, tx, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "plan", id, nil, out
		return WritePlatformAudit(ctx, tx, uuid.Nil, by)
	})
	return out, translate(err)
}

const planColumns = `p.id, p.name, p.description, p.monthly_price::text, p.currency, p.max_users, p.max_connections,
	p.max_contacts, p.max_monthly_conversations, p.max_monthly_campaigns, p.features, p.retired_at,
	(SELECT count(*) FROM tenants t WHERE t.plan_id = p.id AND t.status <> 'deleted'), p.created_at, p.updated_at`

func scanPlan(row pgx.Row) (crm.Plan, error) {
	var p crm.Plan
	var users, connections, contacts, conversations, campaigns *int
	var features []byte
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.MonthlyPrice, &p.Currency, &users, &connections, &contacts,
		&conversations, &campaigns, &features, &p.RetiredAt, &p.Tenants, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	p.Limits = crm.PlanLimits{Users: limitValue(users), Connections: limitValue(connections), Contacts: limitValue(contacts),
		MonthlyConversations: limitValue(conversations), MonthlyCampaigns: limitValue(campaigns)}
	_ = json.Unmarshal(features, &p.Features)
	return p, nil
}

func loadPlan(ctx context.Context, tx pgx.Tx, id uuid.UUID, forUpdate bool) (crm.Plan, error) {
	q := `SELECT ` + planColumns + ` FROM plans p WHERE p.id = $1`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	p, err := scanPlan(tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, crm.NotFound("plan")
	}
	return p, err
}

// GetPlan loads a plan.
func (db *DB) GetPlan(ctx context.Context, id uuid.UUID) (crm.Plan, error) {
	var out crm.Plan
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = loadPlan(ctx, tx, id, false)
		return err
	})
	return out, translate(err)
}

// ListPlans lists plans by name; retired ones only when asked. Plans are few,
// so the list is one page.
func (db *DB) ListPlans(ctx context.Context, includeRetired bool) ([]crm.Plan, error) {
	var out []crm.Plan
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+planColumns+` FROM plans p
			WHERE $1 OR p.retired_at IS NULL ORDER BY p.name`, includeRetired)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.Plan, error) { return scanPlan(r) })
		return err
	})
	if out == nil {
		out = []crm.Plan{}
	}
	return out, translate(err)
}

// AdminUpdatePlan loads the plan locked, lets change edit it, stores it and
// audits the before and after. Retiring is a change that sets RetiredAt.
func (db *DB) AdminUpdatePlan(ctx context.Context, by AuditEntry, id uuid.UUID, action string,
	change func(*crm.Plan) error) (crm.Plan, error) {
	var out crm.Plan
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		before, err := loadPlan(ctx, tx, id, true)
		if err != nil {
			return err
		}
		after := before
		if err := change(&after); err != nil {
			return err
		}
		features, err := json.Marshal(after.Features)
		if err != nil {
			return fmt.Errorf("encoding the plan's features: %w", err)
		}
		l := after.Limits
		_, err = tx.Exec(ctx, `UPDATE plans SET name = $2, description = $3, monthly_price = $4::numeric,
			max_users = $5, max_connections = $6, max_contacts = $7, max_monthly_conversations = $8,
			max_monthly_campaigns = $9, features = $10, retired_at = $11 WHERE id = $1`,
			id, after.Name, after.Description, after.MonthlyPrice, limitArg(l.Users), limitArg(l.Connections),
			limitArg(l.Contacts), limitArg(l.MonthlyConversations), limitArg(l.MonthlyCampaigns), features, after.RetiredAt)
		if err != nil {
			return planWriteError(err)
		}
		if out, err = loadPlan(ctx, tx, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = action, "plan", id, before, out
		return WritePlatformAudit(ctx, tx, uuid.Nil, by)
	})
	return out, translate(err)
}

// NewTenant is what creating a tenant with its first admin takes.
type NewTenant struct {
	Name              string
	Slug              string
	Email             string
	Document          string
	Phone             string
	PlanID            uuid.UUID
	AdminName         string
	AdminEmail        string
	AdminPasswordHash string
}

// tenantSelect reads tenants with plan and usage. The usage comes from the
// counter rows and this month's usage row: a handful of primary-key look-ups
// per tenant, never a count of the tenant's data.
const tenantSelect = `SELECT t.id, t.name, t.slug, t.email, t.document, t.phone, t.plan_id, p.name, t.status,
	t.suspended_at, t.suspended_reason, t.deleted_at, t.last_export_at,
	p.max_users, p.max_connections, p.max_contacts, p.max_monthly_conversations, p.max_monthly_campaigns, p.features,
	coalesce((SELECT used FROM tenant_counters c WHERE c.tenant_id = t.id AND c.resource = 'users'), 0),
	coalesce((SELECT used FROM tenant_counters c WHERE c.tenant_id = t.id AND c.resource = 'connections'), 0),
	coalesce((SELECT used FROM tenant_counters c WHERE c.tenant_id = t.id AND c.resource = 'contacts'), 0),
	coalesce(m.conversations, 0), coalesce(m.campaigns, 0), m.warned_80_at, m.warned_100_at,
	t.created_at, t.updated_at
	FROM tenants t JOIN plans p ON p.id = t.plan_id
	LEFT JOIN tenant_usage_monthly m ON m.tenant_id = t.id AND m.month = usage_month(now())`

func scanTenant(row pgx.Row) (crm.Tenant, error) {
	var t crm.Tenant
	var users, connections, contacts, conversations, campaigns *int
	var features []byte
	err := row.Scan(&t.ID, &t.Name, &t.Slug, &t.Email, &t.Document, &t.Phone, &t.PlanID, &t.PlanName, &t.Status,
		&t.SuspendedAt, &t.SuspendedReason, &t.DeletedAt, &t.LastExportAt,
		&users, &connections, &contacts, &conversations, &campaigns, &features,
		&t.Usage.Users, &t.Usage.Connections, &t.Usage.Contacts, &t.Usage.MonthlyConversations, &t.Usage.MonthlyCampaigns,
		&t.Usage.Warned80At, &t.Usage.Warned100At, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return t, err
	}
	t.Limits = crm.PlanLimits{Users: limitValue(users), Connections: limitValue(connections), Contacts: limitValue(contacts),
		MonthlyConversations: limitValue(conversations), MonthlyCampaigns: limitValue(campaigns)}
	_ = json.Unmarshal(features, &t.Features)
	return t, nil
}

func loadTenant(ctx context.Context, tx pgx.Tx, id uuid.UUID, forUpdate bool) (crm.Tenant, error) {
	q := tenantSelect + ` WHERE t.id = $1`
	if forUpdate {
		q += ` FOR UPDATE OF t`
	}
	t, err := scanTenant(tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, crm.NotFound("tenant")
	}
	return t, err
}

// GetTenant loads a tenant with its limits and usage (platform path).
func (db *DB) GetTenant(ctx context.Context, id uuid.UUID) (crm.Tenant, error) {
	var out crm.Tenant
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = loadTenant(ctx, tx, id, false)
		return err
	})
	return out, translate(err)
}

// TenantOverview is a tenant's own view of itself: the same record, read on
// the tenant path's behalf. Only the tenant's own id is ever passed in.
func (db *DB) TenantOverview(ctx context.Context, tenantID uuid.UUID) (crm.Tenant, error) {
	return db.GetTenant(ctx, tenantID)
}

// TenantState reads a tenant's status, plan limits and features: one
// primary-key join. Webhooks are stored whatever the state; sends check it.
func (db *DB) TenantState(ctx context.Context, tenantID uuid.UUID) (crm.TenantState, error) {
	var s crm.TenantState
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var users, connections, contacts, conversations, campaigns *int
		var features, hours, keywords, reply, autoClose []byte
		err := tx.QueryRow(ctx, `SELECT t.status, t.suspended_reason, t.plan_id, p.max_users, p.max_connections,
			p.max_contacts, p.max_monthly_conversations, p.max_monthly_campaigns, p.features, t.settings->'business_hours',
			t.settings->'opt_out_keywords', coalesce(t.settings->>'opt_out_reply', ''), t.settings->'outside_hours_reply',
			t.settings->'auto_close'
			FROM tenants t JOIN plans p ON p.id = t.plan_id WHERE t.id = $1`, tenantID).Scan(&s.Status,
			&s.SuspendedReason, &s.PlanID, &users, &connections, &contacts, &conversations, &campaigns, &features, &hours,
			&keywords, &s.OptOutReply, &reply, &autoClose)
		if err != nil {
			return err
		}
		s.Limits = crm.PlanLimits{Users: limitValue(users), Connections: limitValue(connections), Contacts: limitValue(contacts),
			MonthlyConversations: limitValue(conversations), MonthlyCampaigns: limitValue(campaigns)}
		if err := json.Unmarshal(features, &s.Features); err != nil {
			return fmt.Errorf("plan %s features: %w", s.PlanID, err)
		}
		var service ServiceSettings
		if err := decodeServiceSettings(tenantID, hours, reply, autoClose, &service); err != nil {
			return err
		}
		s.BusinessHours, s.OutsideHoursReply, s.AutoClose = service.BusinessHours, service.OutsideHoursReply, service.AutoClose
		if len(keywords) > 0 && string(keywords) != "null" {
			if err := json.Unmarshal(keywords, &s.OptOutKeywords); err != nil {
				return fmt.Errorf("tenant %s opt-out keywords: %w", tenantID, err)
			}
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s, crm.NotFound("tenant")
	}
	return s, translate(err)
}

// TenantFilter narrows the tenant list.
type TenantFilter struct {
	Status string
	PlanID *uuid.UUID
	Query  string // name, slug, email or document contains
	Cursor string
	Limit  int
}

// ListTenants lists tenants newest first with limits and usage.
func (db *DB) ListTenants(ctx context.Context, f TenantFilter) (crm.Page[crm.Tenant], error) {
	page := crm.Page[crm.Tenant]{Items: []crm.Tenant{}}
	limit := crm.ClampLimit(f.Limit)
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(f.Cursor, &afterID)
	if err != nil {
		return page, err
	}
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		q := tenantSelect + ` WHERE ($1 = '' OR t.status = $1) AND ($2::uuid IS NULL OR t.plan_id = $2)
			AND ($3 = '' OR t.name ILIKE '%' || $3 || '%' OR t.slug ILIKE '%' || $3 || '%'
			     OR t.email ILIKE '%' || $3 || '%' OR t.document ILIKE '%' || $3 || '%')
			AND (NOT $4 OR t.id < $5) ORDER BY t.id DESC LIMIT $6`
		rows, err := tx.Query(ctx, q, f.Status, f.PlanID, escapeLike(f.Query), hasCursor, afterID, limit+1)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.Tenant, error) { return scanTenant(r) })
		return err
	})
	if err != nil {
		return page, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(page.Items[limit-1].ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify makes a slug candidate from a name: lower-case ASCII letters,
// digits and dashes, accents folded.
func Slugify(name string) string {
	folded := strings.NewReplacer("á", "a", "à", "a", "â", "a", "ã", "a", "ä", "a", "é", "e", "ê", "e", "è", "e",
		"í", "i", "ì", "i", "ó", "o", "ô", "o", "õ", "o", "ò", "o", "ö", "o", "ú", "u", "ü", "u", "ù", "u", "ç", "c",
		"ñ", "n").Replace(strings.ToLower(name))
	s := strings.Trim(slugUnsafe.ReplaceAllString(folded, "-"), "-")
	if len(s) > 50 {
		s = strings.TrimRight(s[:50], "-")
	}
	if s == "" {
		s = "tenant"
	}
	return s
}

// errPlanRetired refuses new tenants on a retired plan.
var errPlanRetired = crm.NewError(crm.ErrConflict, "plan_retired",
	"this plan is retired: it keeps its tenants but takes no new ones", nil)

// CreateTenant stores a tenant and its first admin in one transaction and
// returns their ids (seeding; no audit).
func (db *DB) CreateTenant(ctx context.Context, t NewTenant) (tenantID, adminID uuid.UUID, err error) {
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var err error
		tenantID, adminID, err = insertTenant(ctx, tx, t)
		return err
	})
	return tenantID, adminID, translate(err)
}

func insertTenant(ctx context.Context, tx pgx.Tx, t NewTenant) (tenantID, adminID uuid.UUID, err error) {
	tenantID, adminID = crm.NewID(), crm.NewID()
	if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, slug, email, document, phone, plan_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, t.Name, t.Slug, t.Email, t.Document, t.Phone, t.PlanID); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return tenantID, adminID, crm.Conflict("slug", "a tenant with this slug already exists")
		}
		if errors.As(err, &pgErr) && pgErr.Code == "23503" {
			return tenantID, adminID, crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
				map[string]any{"fields": map[string]any{"plan_id": "no such plan"}})
		}
		return tenantID, adminID, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tenant_event_counters (tenant_id) VALUES ($1)`, tenantID); err != nil {
		return tenantID, adminID, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role)
		VALUES ($1, $2, $3, $4, $5, 'TENANT_ADMIN')`, tenantID, adminID, t.AdminName, t.AdminEmail, t.AdminPasswordHash)
	return tenantID, adminID, err
}

// TenantAdmin is the first admin as creating a tenant returns it.
type TenantAdmin struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Role  crm.Role  `json:"role"`
}

// AdminCreateTenant creates a tenant with its first admin on a plan that is
// not retired, audited on the platform log and in the tenant's own log. With
// no slug one is made from the name (with a number when taken).
func (db *DB) AdminCreateTenant(ctx context.Context, by AuditEntry, t NewTenant) (crm.Tenant, TenantAdmin, error) {
	var out crm.Tenant
	var admin TenantAdmin
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var retiredAt *time.Time
		err := tx.QueryRow(ctx, `SELECT retired_at FROM plans WHERE id = $1 FOR SHARE`, t.PlanID).Scan(&retiredAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
				map[string]any{"fields": map[string]any{"plan_id": "no such plan"}})
		}
		if err != nil {
			return err
		}
		if retiredAt != nil {
			return errPlanRetired
		}
		if t.Slug == "" {
			base := Slugify(t.Name)
			t.Slug = base
			for n := 2; ; n++ {
				var taken bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE slug = $1)`, t.Slug).Scan(&taken); err != nil {
					return err
				}
				if !taken {
					break
				}
				t.Slug = fmt.Sprintf("%s-%d", base, n)
			}
		}
		tenantID, adminID, err := insertTenant(ctx, tx, t)
		if err != nil {
			return err
		}
		if out, err = loadTenant(ctx, tx, tenantID, false); err != nil {
			return err
		}
		admin = TenantAdmin{ID: adminID, Name: t.AdminName, Email: t.AdminEmail, Role: crm.RoleTenantAdmin}
		by.Action, by.Entity, by.EntityID, by.Before = "create", "tenant", tenantID, nil
		by.After = map[string]any{"tenant": out, "admin": admin}
		return auditTenantChange(ctx, tx, tenantID, by)
	})
	return out, admin, translate(err)
}

// auditTenantChange writes a platform owner's change to a tenant into the
// platform log and into the tenant's own log, where its admins see it.
func auditTenantChange(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, by AuditEntry) error {
	if err := WritePlatformAudit(ctx, tx, tenantID, by); err != nil {
		return err
	}
	return WriteAudit(ctx, tx, tenantID, by)
}

// TenantChange is what AdminUpdateTenant applies.
type TenantChange struct {
	Action string // update, suspend, reactivate, delete, export
	// Edit changes the loaded tenant; returning an error aborts.
	Edit func(t *crm.Tenant) error
}

// AdminUpdateTenant loads the tenant locked, applies the change, stores it and
// audits it. A plan change must name an existing plan that is not retired; it
// is allowed even when the tenant uses more than the new plan allows, and the
// answer lists what is exceeded.
func (db *DB) AdminUpdateTenant(ctx context.Context, by AuditEntry, id uuid.UUID, change TenantChange) (crm.Tenant, []crm.LimitExceeded, error) {
	var out crm.Tenant
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		before, err := loadTenant(ctx, tx, id, true)
		if err != nil {
			return err
		}
		after := before
		if err := change.Edit(&after); err != nil {
			return err
		}
		if after.PlanID != before.PlanID {
			var retiredAt *time.Time
			err := tx.QueryRow(ctx, `SELECT retired_at FROM plans WHERE id = $1 FOR SHARE`, after.PlanID).Scan(&retiredAt)
			if errors.Is(err, pgx.ErrNoRows) {
				return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
					map[string]any{"fields": map[string]any{"plan_id": "no such plan"}})
			}
			if err != nil {
				return err
			}
			if retiredAt != nil {
				return errPlanRetired
			}
		}
		_, err = tx.Exec(ctx, `UPDATE tenants SET name = $2, email = $3, document = $4, phone = $5, plan_id = $6,
			status = $7, suspended_at = $8, suspended_reason = $9, deleted_at = $10, last_export_at = $11 WHERE id = $1`,
			id, after.Name, after.Email, after.Document, after.Phone, after.PlanID, after.Status, after.SuspendedAt,
			after.SuspendedReason, after.DeletedAt, after.LastExportAt)
		if err != nil {
			return err
		}
		if out, err = loadTenant(ctx, tx, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = change.Action, "tenant", id, before, out
		return auditTenantChange(ctx, tx, id, by)
	})
	if err != nil {
		return out, nil, translate(err)
	}
	return out, crm.Exceeded(out.Limits, out.Usage), nil
}

// AllowOverLimit lets the rest of tx create users, connections and contacts
// beyond the plan's limits: they are still counted (and show as exceeded),
// but not refused. The engine calls it when a customer's inbound message
// creates a contact, which must never be lost to a quota.
func AllowOverLimit(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT set_config('crm.allow_over_limit', 'on', true)`)
	return translate(err)
}

// planLimitError turns the counting triggers' CRM01 error into 402 plan_limit.
func planLimitError(pgErr *pgconn.PgError) error {
	details := map[string]any{}
	var raw struct {
		Resource string `json:"resource"`
		Limit    int    `json:"limit"`
		Used     int    `json:"used"`
	}
	if err := json.Unmarshal([]byte(pgErr.Detail), &raw); err == nil {
		details = map[string]any{"resource": raw.Resource, "limit": raw.Limit, "used": raw.Used}
	}
	return &crm.Error{Kind: crm.ErrPlanLimit, Code: "plan_limit",
		Message: "your plan's limit is reached; upgrade the plan to add more", Details: details}
}

// TenantBySlug finds a tenant id by slug (platform path).
func (db *DB) TenantBySlug(ctx context.Context, slug string) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM tenants WHERE slug = $1`, slug).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, crm.NotFound("tenant")
	}
	return id, translate(err)
}

// PlanByName finds a plan id by name (platform path).
func (db *DB) PlanByName(ctx context.Context, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM plans WHERE name = $1`, name).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, crm.NotFound("plan")
	}
	return id, translate(err)
}

// exportHidden are columns an export leaves out: password and token hashes,
// sealed credentials, webhook secrets and license keys.
var exportHidden = []string{"password_hash", "token_hash", "credentials", "webhook_secret", "verify_token", "key"}

// exportSkipped are tenant tables that hold nothing worth exporting: login
// sessions, derived counters and the console's replay buffer.
var exportSkipped = map[string]bool{"refresh_tokens": true, "message_keys": true, "tenant_event_counters": true}

// ExportTenant writes every row of the tenant as one JSON document:
// {"format", "exported_at", "tenant", "tables": {"<table>": [rows…]}}. It
// reads one consistent snapshot on the tenant path (row-level security keeps
// it to this tenant), streams table by table, and finds the tables from the
// catalog, so tables added later are exported too. Secrets are left out.
func (db *DB) ExportTenant(ctx context.Context, tenantID uuid.UUID, w io.Writer, now time.Time) error {
	tenant, err := db.GetTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("beginning export: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	var tables []string
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE a.attname = 'tenant_id' AND NOT a.attisdropped AND n.nspname = current_schema()
		  AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("listing tenant tables: %w", err)
	}
	if tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return fmt.Errorf("listing tenant tables: %w", err)
	}
	if db.tenantRole != "-" {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{db.tenantRole}.Sanitize()); err != nil {
			return fmt.Errorf("switching to tenant role: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenantID.String()); err != nil {
		return fmt.Errorf("setting tenant: %w", err)
	}
	head, err := json.Marshal(map[string]any{"format": "crm-tenant-export/1", "exported_at": now.UTC(), "tenant": tenant})
	if err != nil {
		return err
	}
	// Splice "tables" into the head object and stream its arrays.
	if _, err := w.Write(append(head[:len(head)-1], []byte(`,"tables":{`)...)); err != nil {
		return err
	}
	first := true
	for _, table := range tables {
		if exportSkipped[table] {
			continue
		}
		name, err := json.Marshal(table)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", table, err)
		}
		sep := ","
		if first {
			sep = ""
		}
		first = false
		if _, err := w.Write([]byte(sep + string(name) + ":[")); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT (to_jsonb(x) - $1::text[])::text FROM %s x`,
			pgx.Identifier{table}.Sanitize()), exportHidden)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", table, err)
		}
		n := 0
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				rows.Close()
				return err
			}
			if n > 0 {
				row = "," + row
			}
			n++
			if _, err := w.Write([]byte(row)); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("exporting %s: %w", table, err)
		}
		if _, err := w.Write([]byte("]")); err != nil {
			return err
		}
	}
	_, err = w.Write([]byte("}}\n"))
	return err
}

// AuditRecord is one audit log entry as listed.
type AuditRecord struct {
	ID         uuid.UUID       `json:"id"`
	Source     string          `json:"source"` // platform or tenant
	TenantID   *uuid.UUID      `json:"tenant_id"`
	ActorID    *uuid.UUID      `json:"actor_id"`
	ActorEmail string          `json:"actor_email"`
	ActorRole  string          `json:"actor_role"`
	Action     string          `json:"action"`
	Entity     string          `json:"entity"`
	EntityID   *uuid.UUID      `json:"entity_id"`
	IP         string          `json:"ip"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	CreatedAt  time.Time       `json:"created_at"`
}

// AuditFilter narrows an audit list. Times are inclusive of Since and
// exclusive of Until.
type AuditFilter struct {
	TenantID *uuid.UUID // platform list only
	Entity   string
	Action   string
	ActorID  *uuid.UUID
	Since    *time.Time
	Until    *time.Time
	Cursor   string
	Limit    int
}

func auditPage(rows pgx.Rows, limit int) (crm.Page[AuditRecord], error) {
	page := crm.Page[AuditRecord]{Items: []AuditRecord{}}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRecord, error) {
		var a AuditRecord
		var before, after []byte
		err := r.Scan(&a.ID, &a.Source, &a.TenantID, &a.ActorID, &a.ActorEmail, &a.ActorRole, &a.Action, &a.Entity,
			&a.EntityID, &a.IP, &before, &after, &a.CreatedAt)
		if before != nil {
			a.Before = before
		}
		if after != nil {
			a.After = after
		}
		return a, err
	})
	if err != nil {
		return page, err
	}
	page.Items = items
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		next, err := crm.EncodeCursor(last.CreatedAt, last.ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

func auditCursor(f AuditFilter) (bool, time.Time, uuid.UUID, error) {
	var at time.Time
	var id uuid.UUID
	ok, err := crm.DecodeCursor(f.Cursor, &at, &id)
	return ok, at, id, err
}

// ListTenantAudit lists the tenant's audit log newest first (tenant path):
// its admins' changes and the platform owner's changes to it.
func (db *DB) ListTenantAudit(ctx context.Context, tenantID uuid.UUID, f AuditFilter) (crm.Page[AuditRecord], error) {
	limit := crm.ClampLimit(f.Limit)
	hasCursor, at, afterID, err := auditCursor(f)
	if err != nil {
		return crm.Page[AuditRecord]{Items: []AuditRecord{}}, err
	}
	var page crm.Page[AuditRecord]
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, 'tenant', tenant_id, actor_id, actor_email, actor_role, action, entity,
			entity_id, ip, before, after, created_at FROM audit_log
			WHERE tenant_id = $1 AND ($2 = '' OR entity = $2) AND ($3 = '' OR action = $3)
			  AND ($4::uuid IS NULL OR actor_id = $4) AND ($5::timestamptz IS NULL OR created_at >= $5)
			  AND ($6::timestamptz IS NULL OR created_at < $6)
			  AND (NOT $7 OR (created_at, id) < ($8, $9))
			ORDER BY created_at DESC, id DESC LIMIT $10`,
			tenantID, f.Entity, f.Action, f.ActorID, f.Since, f.Until, hasCursor, at, afterID, limit+1)
		if err != nil {
			return err
		}
		page, err = auditPage(rows, limit)
		return err
	})
	return page, translate(err)
}

// ListPlatformAudit lists the platform log and every tenant's log newest
// first (platform path). A platform owner's change to a tenant is in both
// logs; it is listed once, from the platform log. With TenantID, only what
// concerns that tenant.
func (db *DB) ListPlatformAudit(ctx context.Context, f AuditFilter) (crm.Page[AuditRecord], error) {
	limit := crm.ClampLimit(f.Limit)
	hasCursor, at, afterID, err := auditCursor(f)
	if err != nil {
		return crm.Page[AuditRecord]{Items: []AuditRecord{}}, err
	}
	var page crm.Page[AuditRecord]
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT * FROM (
			SELECT id, 'platform' AS source, tenant_ref AS tenant_id, actor_id, actor_email, 'SUPER_ADMIN' AS actor_role,
			       action, entity, entity_id, ip, before, after, created_at
			  FROM platform_audit_log
			 WHERE ($1::uuid IS NULL OR tenant_ref = $1)
			UNION ALL
			SELECT id, 'tenant', tenant_id, actor_id, actor_email, actor_role, action, entity, entity_id, ip,
			       before, after, created_at
			  FROM audit_log
			 WHERE actor_role <> 'SUPER_ADMIN' AND ($1::uuid IS NULL OR tenant_id = $1)) a
			WHERE ($2 = '' OR entity = $2) AND ($3 = '' OR action = $3)
			  AND ($4::uuid IS NULL OR actor_id = $4) AND ($5::timestamptz IS NULL OR created_at >= $5)
			  AND ($6::timestamptz IS NULL OR created_at < $6)
			  AND (NOT $7 OR (created_at, id) < ($8, $9))
			ORDER BY created_at DESC, id DESC LIMIT $10`,
			f.TenantID, f.Entity, f.Action, f.ActorID, f.Since, f.Until, hasCursor, at, afterID, limit+1)
		if err != nil {
			return err
		}
		page, err = auditPage(rows, limit)
		return err
	})
	return page, translate(err)
}
