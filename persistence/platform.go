package persistence

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// PlanLimits are a plan's quotas; 0 means none allowed.
type PlanLimits struct {
	Users                int `json:"users"`
	Connections          int `json:"connections"`
	Contacts             int `json:"contacts"`
	MonthlyConversations int `json:"monthly_conversations"`
	MonthlyCampaigns     int `json:"monthly_campaigns"`
}

// PlanFeatures are a plan's feature flags.
type PlanFeatures struct {
	Chatbot   bool `json:"chatbot"`
	Campaigns bool `json:"campaigns"`
	Kanban    bool `json:"kanban"`
	Agenda    bool `json:"agenda"`
	Reports   bool `json:"reports"`
	API       bool `json:"api"`
	Instagram bool `json:"instagram"`
	Messenger bool `json:"messenger"`
}

// NewPlan is what creating a plan takes.
type NewPlan struct {
	Name         string
	Description  string
	MonthlyPrice string // numeric(12,2) as text, e.g. "199.90"
	Limits       PlanLimits
	Features     PlanFeatures
}

// CreatePlan stores a plan (platform path).
func (db *DB) CreatePlan(ctx context.Context, p NewPlan) (uuid.UUID, error) {
	id := crm.NewID()
	features, _ := json.Marshal(p.Features)
	if p.MonthlyPrice == "" {
		p.MonthlyPrice = "0"
	}
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO plans (id, name, description, monthly_price, max_users, max_connections,
			max_contacts, max_monthly_conversations, max_monthly_campaigns, features)
			VALUES ($1, $2, $3, $4::numeric, $5, $6, $7, $8, $9, $10)`, id, p.Name, p.Description, p.MonthlyPrice,
			p.Limits.Users, p.Limits.Connections, p.Limits.Contacts, p.Limits.MonthlyConversations,
			p.Limits.MonthlyCampaigns, features)
		return err
	})
	return id, translate(err)
}

// NewTenant is what creating a tenant with its first admin takes.
type NewTenant struct {
	Name              string
	Slug              string
	Email             string
	Document          string
	PlanID            uuid.UUID
	AdminName         string
	AdminEmail        string
	AdminPasswordHash string
}

// CreateTenant stores a tenant and its first admin in one transaction and
// returns their ids.
func (db *DB) CreateTenant(ctx context.Context, t NewTenant) (tenantID, adminID uuid.UUID, err error) {
	tenantID, adminID = crm.NewID(), crm.NewID()
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, slug, email, document, plan_id)
			VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, t.Name, t.Slug, t.Email, t.Document, t.PlanID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tenant_event_counters (tenant_id) VALUES ($1)`, tenantID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role)
			VALUES ($1, $2, $3, $4, $5, 'TENANT_ADMIN')`, tenantID, adminID, t.AdminName, t.AdminEmail, t.AdminPasswordHash)
		return err
	})
	return tenantID, adminID, translate(err)
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

// EnsureDemoUser creates a user unless one with the email exists (demo seeding).
func (db *DB) EnsureDemoUser(ctx context.Context, tenantID uuid.UUID, name, email string, role crm.Role, passwordHash string) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, email) DO NOTHING`,
			tenantID, crm.NewID(), name, email, passwordHash, string(role))
		return err
	}))
}
