package persistence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

var everyFeature = crm.PlanFeatures{Chatbot: true, Campaigns: true, Kanban: true, Agenda: true, Reports: true,
	API: true, Instagram: true, Messenger: true}

func planWith(t *testing.T, db *persistence.DB, limits crm.PlanLimits) uuid.UUID {
	t.Helper()
	id, err := db.CreatePlan(context.Background(), persistence.NewPlan{Name: "plan-" + crm.NewID().String()[24:],
		MonthlyPrice: "10.00", Limits: limits, Features: everyFeature})
	require.NoError(t, err)
	return id
}

func tenantOn(t *testing.T, db *persistence.DB, planID uuid.UUID) uuid.UUID {
	t.Helper()
	slug := "t-" + crm.NewID().String()[24:]
	id, _, err := db.CreateTenant(context.Background(), persistence.NewTenant{Name: "Tenant " + slug, Slug: slug,
		Email: slug + "@example.com", PlanID: planID, AdminName: "Admin", AdminEmail: "admin@" + slug + ".test",
		AdminPasswordHash: "x"})
	require.NoError(t, err)
	return id
}

func insertUser(ctx context.Context, db *persistence.DB, tenantID uuid.UUID) error {
	return db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		id := crm.NewID()
		_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role)
			VALUES ($1, $2, 'U', $3, 'x', 'AGENT')`, tenantID, id, id.String()+"@example.com")
		return persistence.Translate(err)
	})
}

func insertContact(ctx context.Context, db *persistence.DB, tenantID uuid.UUID) error {
	return db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name) VALUES ($1, $2, 'C')`, tenantID, crm.NewID())
		return persistence.Translate(err)
	})
}

func insertConnection(ctx context.Context, db *persistence.DB, tenantID uuid.UUID) (uuid.UUID, error) {
	id := crm.NewID()
	return id, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, $3, 'whatsapp', 'sandbox', 'v', 's')`, tenantID, id, "conn "+id.String())
		return persistence.Translate(err)
	})
}

func requirePlanLimit(t *testing.T, err error, resource string, limit, used int) {
	t.Helper()
	var coded *crm.Error
	require.True(t, errors.As(err, &coded), "want a plan_limit error, got %v", err)
	require.ErrorIs(t, coded.Kind, crm.ErrPlanLimit)
	require.Equal(t, "plan_limit", coded.Code)
	require.Equal(t, map[string]any{"resource": resource, "limit": limit, "used": used}, coded.Details)
}

func TestLimitsEnforcedByTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := tenantOn(t, db, planWith(t, db, crm.PlanLimits{Users: 2, Connections: 1, Contacts: 2,
		MonthlyConversations: 10, MonthlyCampaigns: 1}))

	// The first admin is user 1 of 2.
	require.NoError(t, insertUser(ctx, db, tenant))
	requirePlanLimit(t, insertUser(ctx, db, tenant), "users", 2, 2)

	require.NoError(t, insertContact(ctx, db, tenant))
	require.NoError(t, insertContact(ctx, db, tenant))
	requirePlanLimit(t, insertContact(ctx, db, tenant), "contacts", 2, 2)
	// A multi-row insert crossing the limit fails as a whole.
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM contacts WHERE tenant_id = $1`, tenant)
		return err
	}))
	err := db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id) SELECT $1, gen_random_uuid() FROM generate_series(1, 3)`, tenant)
		return persistence.Translate(err)
	})
	requirePlanLimit(t, err, "contacts", 2, 0)

	connID, err := insertConnection(ctx, db, tenant)
	require.NoError(t, err)
	_, err = insertConnection(ctx, db, tenant)
	requirePlanLimit(t, err, "connections", 1, 1)
	// A deleted connection frees its place; restoring it over the limit fails.
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE connections SET deleted_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, connID)
		return err
	}))
	_, err = insertConnection(ctx, db, tenant)
	require.NoError(t, err)
	err = db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE connections SET deleted_at = NULL WHERE tenant_id = $1 AND id = $2`, tenant, connID)
		return persistence.Translate(err)
	})
	requirePlanLimit(t, err, "connections", 1, 1)

	// Deactivating a user frees a seat; reactivating over the limit fails.
	var agent uuid.UUID
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE users SET active = false WHERE tenant_id = $1 AND role = 'AGENT' RETURNING id`, tenant).Scan(&agent)
	}))
	require.NoError(t, insertUser(ctx, db, tenant))
	err = db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET active = true WHERE tenant_id = $1 AND id = $2`, tenant, agent)
		return persistence.Translate(err)
	})
	requirePlanLimit(t, err, "users", 2, 2)

	got, err := db.GetTenant(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, 2, got.Usage.Users)
	require.Equal(t, 1, got.Usage.Connections)
	require.Equal(t, 0, got.Usage.Contacts)

	// Campaigns per month count when launched, not when written.
	require.NoError(t, insertCampaign(ctx, db, tenant, mustConnection(t, db, tenant, got)))
	require.NoError(t, insertCampaign(ctx, db, tenant, mustConnection(t, db, tenant, got)))
	launch := func() error {
		return db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE campaigns SET launched_at = now()
				WHERE id = (SELECT id FROM campaigns WHERE launched_at IS NULL ORDER BY id LIMIT 1)`)
			return persistence.Translate(err)
		})
	}
	require.NoError(t, launch())
	requirePlanLimit(t, launch(), "monthly_campaigns", 1, 1)
}

func mustConnection(t *testing.T, db *persistence.DB, tenant uuid.UUID, _ crm.Tenant) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT id FROM connections WHERE deleted_at IS NULL LIMIT 1`).Scan(&id)
	}))
	return id
}

func insertCampaign(ctx context.Context, db *persistence.DB, tenant, conn uuid.UUID) error {
	return db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO campaigns (tenant_id, id, name, connection_id) VALUES ($1, $2, 'c', $3)`,
			tenant, crm.NewID(), conn)
		return persistence.Translate(err)
	})
}

// TestLimitConcurrentCreatesAtTheLimit starts creates at limit - 1 from many
// goroutines at once: exactly one of each resource succeeds.
func TestLimitConcurrentCreatesAtTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := tenantOn(t, db, planWith(t, db, crm.PlanLimits{Users: 3, Connections: 2, Contacts: 5,
		MonthlyConversations: 10, MonthlyCampaigns: 10}))
	require.NoError(t, insertUser(ctx, db, tenant)) // admin + 1 = limit - 1
	_, err := insertConnection(ctx, db, tenant)
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		require.NoError(t, insertContact(ctx, db, tenant))
	}
	creates := map[string]func() error{
		"users":       func() error { return insertUser(ctx, db, tenant) },
		"connections": func() error { _, err := insertConnection(ctx, db, tenant); return err },
		"contacts":    func() error { return insertContact(ctx, db, tenant) },
	}
	for resource, create := range creates {
		const racers = 6
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, racers)
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				errs[i] = create()
			}(i)
		}
		close(start)
		wg.Wait()
		ok, limited := 0, 0
		for _, err := range errs {
			var coded *crm.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &coded) && coded.Code == "plan_limit":
				limited++
			default:
				t.Fatalf("%s: unexpected error %v", resource, err)
			}
		}
		require.Equal(t, 1, ok, "%s: exactly one create succeeds", resource)
		require.Equal(t, racers-1, limited, resource)
	}
	got, err := db.GetTenant(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, 3, got.Usage.Users)
	require.Equal(t, 2, got.Usage.Connections)
	require.Equal(t, 5, got.Usage.Contacts)
}

func TestLimitConversationsFlaggedAndWarned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := tenantOn(t, db, planWith(t, db, crm.PlanLimits{Users: 5, Connections: 5, Contacts: 100,
		MonthlyConversations: 5, MonthlyCampaigns: 1}))
	conn, err := insertConnection(ctx, db, tenant)
	require.NoError(t, err)
	var flags []bool
	for i := 1; i <= 7; i++ {
		contact := crm.NewID()
		var overLimit bool
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id) VALUES ($1, $2)`, tenant, contact); err != nil {
				return err
			}
			c := &crm.Conversation{TenantID: tenant, ConnectionID: conn, ContactID: contact, Channel: "whatsapp"}
			if err := persistence.InsertConversation(ctx, tx, c); err != nil {
				return err
			}
			overLimit = c.OverLimit
			return nil
		}))
		flags = append(flags, overLimit)
		got, err := db.GetTenant(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, i, got.Usage.MonthlyConversations)
		require.Equal(t, i >= 4, got.Usage.Warned80At != nil, "80%% warning after conversation %d", i)
		require.Equal(t, i >= 5, got.Usage.Warned100At != nil, "100%% warning after conversation %d", i)
	}
	require.Equal(t, []bool{false, false, false, false, false, true, true}, flags, "beyond the plan: stored but flagged")

	// Messages bump the day's counters by direction.
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		var conv, contact uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT id, contact_id FROM conversations LIMIT 1`).Scan(&conv, &contact); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO messages (tenant_id, id, conversation_id, connection_id, contact_id, seq,
			direction, type, status)
			SELECT $1, gen_random_uuid(), $2, $3, $4, g, CASE WHEN g % 3 = 0 THEN 'outbound' ELSE 'inbound' END, 'text', 'received'
			FROM generate_series(1, 9) g`, tenant, conv, conn, contact)
		return err
	}))
	m, err := db.PlatformMetrics(ctx, 30)
	require.NoError(t, err)
	today := m.MessagesPerDay[len(m.MessagesPerDay)-1]
	require.Equal(t, 6, today.Inbound)
	require.Equal(t, 3, today.Outbound)
	require.Equal(t, 7, today.NewConversations)
	require.Len(t, m.MessagesPerDay, 30)
	require.Equal(t, 7, m.ConversationsMonth)
}

func TestPlanRetiredAndTenantPlanChangeReportsExceeded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	by := persistence.AuditEntry{Actor: crm.Principal{UserID: crm.NewID(), Role: crm.RoleSuperAdmin, Email: "owner@x"}, IP: "1.2.3.4"}
	big := planWith(t, db, crm.PlanLimits{Users: 10, Connections: 10, Contacts: 10, MonthlyConversations: 10, MonthlyCampaigns: 10})
	small := planWith(t, db, crm.PlanLimits{Users: 1, Connections: 10, Contacts: 10, MonthlyConversations: 10, MonthlyCampaigns: 10})
	tenant, admin, err := db.AdminCreateTenant(ctx, by, persistence.NewTenant{Name: "São João Ltda", Email: "a@b.c",
		PlanID: big, AdminName: "A", AdminEmail: "a@sj.test", AdminPasswordHash: "x"})
	require.NoError(t, err)
	require.Equal(t, "sao-joao-ltda", tenant.Slug)
	require.Equal(t, crm.RoleTenantAdmin, admin.Role)
	again, _, err := db.AdminCreateTenant(ctx, by, persistence.NewTenant{Name: "São João Ltda", Email: "a@b.c",
		PlanID: big, AdminName: "A", AdminEmail: "a@sj.test", AdminPasswordHash: "x"})
	require.NoError(t, err)
	require.Equal(t, "sao-joao-ltda-2", again.Slug)
	require.NoError(t, insertUser(ctx, db, tenant.ID))

	out, exceeded, err := db.AdminUpdateTenant(ctx, by, tenant.ID, persistence.TenantChange{Action: "update",
		Edit: func(t *crm.Tenant) error { t.PlanID = small; return nil }})
	require.NoError(t, err)
	require.Equal(t, small, out.PlanID)
	require.Equal(t, []crm.LimitExceeded{{Resource: "users", Limit: 1, Used: 2}}, exceeded)

	_, err = db.AdminUpdatePlan(ctx, by, big, "retire", func(p *crm.Plan) error {
		now := time.Now()
		p.RetiredAt = &now
		return nil
	})
	require.NoError(t, err)
	_, _, err = db.AdminCreateTenant(ctx, by, persistence.NewTenant{Name: "Late", Email: "l@b.c", PlanID: big,
		AdminName: "A", AdminEmail: "a@late.test", AdminPasswordHash: "x"})
	var coded *crm.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, "plan_retired", coded.Code)
	// Its tenants keep it.
	got, err := db.GetTenant(ctx, again.ID)
	require.NoError(t, err)
	require.Equal(t, big, got.PlanID)

	// The tenant's own audit log sees the platform owner's changes.
	page, err := db.ListTenantAudit(ctx, tenant.ID, persistence.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Equal(t, "update", page.Items[0].Action)
	require.Equal(t, "create", page.Items[1].Action)
	require.NotContains(t, string(page.Items[1].After), "password")
}

func TestTenantExportHoldsItsDataOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	plan := planWith(t, db, crm.PlanLimits{Users: 10, Connections: 10, Contacts: 10, MonthlyConversations: 10, MonthlyCampaigns: 10})
	a, b := tenantOn(t, db, plan), tenantOn(t, db, plan)
	require.NoError(t, insertContact(ctx, db, a))
	require.NoError(t, insertContact(ctx, db, b))
	_, err := insertConnection(ctx, db, a)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, db.ExportTenant(ctx, a, &buf, time.Now()))
	var doc struct {
		Format string                      `json:"format"`
		Tenant map[string]any              `json:"tenant"`
		Tables map[string][]map[string]any `json:"tables"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc), buf.String())
	require.Equal(t, a.String(), doc.Tenant["id"])
	require.Len(t, doc.Tables["contacts"], 1)
	require.Len(t, doc.Tables["users"], 1)
	require.Len(t, doc.Tables["connections"], 1)
	require.NotContains(t, doc.Tables["users"][0], "password_hash")
	require.NotContains(t, doc.Tables["connections"][0], "webhook_secret")
	for table, rows := range doc.Tables {
		for _, row := range rows {
			require.Equal(t, a.String(), row["tenant_id"], fmt.Sprintf("row of %s", table))
		}
	}
	require.Contains(t, doc.Tables, "messages")
	require.NotContains(t, doc.Tables, "refresh_tokens")
}

func TestLimitBypassForInboundContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tenant := tenantOn(t, db, planWith(t, db, crm.PlanLimits{Users: 5, Connections: 5, Contacts: 1,
		MonthlyConversations: 5, MonthlyCampaigns: 5}))
	require.NoError(t, insertContact(ctx, db, tenant))
	requirePlanLimit(t, insertContact(ctx, db, tenant), "contacts", 1, 1)
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if err := persistence.AllowOverLimit(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id) VALUES ($1, $2)`, tenant, crm.NewID())
		return err
	}))
	got, err := db.GetTenant(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, 2, got.Usage.Contacts)
	require.Equal(t, []crm.LimitExceeded{{Resource: "contacts", Limit: 1, Used: 2}}, crm.Exceeded(got.Limits, got.Usage))
	// The setting ends with its transaction.
	requirePlanLimit(t, insertContact(ctx, db, tenant), "contacts", 1, 2)
}
