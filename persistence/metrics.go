package persistence

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// PlatformMetrics is the platform owner's overview. Everything comes from
// the tenants and plans tables, the counters and the usage tables kept by
// triggers: its cost grows with the number of tenants, never with their
// messages or contacts.
type PlatformMetrics struct {
	GeneratedAt         time.Time           `json:"generated_at"`
	Month               string              `json:"month"` // YYYY-MM, São Paulo time
	TenantsByStatus     map[string]int      `json:"tenants_by_status"`
	TenantsByPlan       []PlanTenantCount   `json:"tenants_by_plan"`
	Users               int                 `json:"users"`
	Contacts            int                 `json:"contacts"`
	ConnectionsByStatus map[string]int      `json:"connections_by_status"`
	ConversationsMonth  int                 `json:"conversations_this_month"`
	MessagesPerDay      []DailyMessages     `json:"messages_per_day"`
	TenantUsage         []TenantUsageReport `json:"tenant_usage"`
}

// PlanTenantCount is how many live tenants a plan has.
type PlanTenantCount struct {
	PlanID   uuid.UUID `json:"plan_id"`
	PlanName string    `json:"plan_name"`
	Tenants  int       `json:"tenants"`
}

// DailyMessages is one day of message traffic across tenants.
type DailyMessages struct {
	Day              string `json:"day"` // YYYY-MM-DD
	Inbound          int    `json:"inbound"`
	Outbound         int    `json:"outbound"`
	NewConversations int    `json:"new_conversations"`
}

// TenantUsageReport is one tenant's usage against its plan.
type TenantUsageReport struct {
	TenantID uuid.UUID           `json:"tenant_id"`
	Name     string              `json:"name"`
	Slug     string              `json:"slug"`
	Status   string              `json:"status"`
	PlanName string              `json:"plan_name"`
	Limits   crm.PlanLimits      `json:"limits"`
	Usage    crm.TenantUsage     `json:"usage"`
	Exceeded []crm.LimitExceeded `json:"exceeded"`
}

// PlatformMetrics computes the overview; days is the length of the message
// series (30 by default), ending today.
func (db *DB) PlatformMetrics(ctx context.Context, days int) (PlatformMetrics, error) {
	if days <= 0 || days > 366 {
		days = 30
	}
	m := PlatformMetrics{TenantsByStatus: map[string]int{"active": 0, "suspended": 0, "deleted": 0},
		ConnectionsByStatus: map[string]int{}, TenantsByPlan: []PlanTenantCount{}, MessagesPerDay: []DailyMessages{},
		TenantUsage: []TenantUsageReport{}}
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var today time.Time
		if err := tx.QueryRow(ctx, `SELECT now(), usage_day(now())`).Scan(&m.GeneratedAt, &today); err != nil {
			return err
		}
		m.Month = today.Format("2006-01")
		rows, err := tx.Query(ctx, `SELECT status, count(*) FROM tenants GROUP BY status`)
		if err != nil {
			return err
		}
		if err := collectCounts(rows, m.TenantsByStatus); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT p.id, p.name, count(t.id) FROM plans p
			LEFT JOIN tenants t ON t.plan_id = p.id AND t.status <> 'deleted'
			GROUP BY p.id, p.name ORDER BY p.name`)
		if err != nil {
			return err
		}
		m.TenantsByPlan, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PlanTenantCount, error) {
			var p PlanTenantCount
			return p, r.Scan(&p.PlanID, &p.PlanName, &p.Tenants)
		})
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT
			coalesce(sum(used) FILTER (WHERE resource = 'users'), 0),
			coalesce(sum(used) FILTER (WHERE resource = 'contacts'), 0)
			FROM tenant_counters c JOIN tenants t ON t.id = c.tenant_id WHERE t.status <> 'deleted'`).
			Scan(&m.Users, &m.Contacts); err != nil {
			return err
		}
		// Connections are at most a few per tenant; grouping them is cheap.
		rows, err = tx.Query(ctx, `SELECT status, count(*) FROM connections WHERE deleted_at IS NULL GROUP BY status`)
		if err != nil {
			return err
		}
		if err := collectCounts(rows, m.ConnectionsByStatus); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(conversations), 0) FROM tenant_usage_monthly
			WHERE month = usage_month(now())`).Scan(&m.ConversationsMonth); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT d::date, coalesce(sum(u.messages_in), 0), coalesce(sum(u.messages_out), 0),
			coalesce(sum(u.conversations_new), 0)
			FROM generate_series($1::date - ($2::int - 1), $1::date, interval '1 day') d
			LEFT JOIN tenant_usage_daily u ON u.day = d::date
			GROUP BY d ORDER BY d`, today, days)
		if err != nil {
			return err
		}
		m.MessagesPerDay, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DailyMessages, error) {
			var d DailyMessages
			var day time.Time
			err := r.Scan(&day, &d.Inbound, &d.Outbound, &d.NewConversations)
			d.Day = day.Format("2006-01-02")
			return d, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, tenantSelect+` WHERE t.status <> 'deleted' ORDER BY t.name, t.id`)
		if err != nil {
			return err
		}
		tenants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.Tenant, error) { return scanTenant(r) })
		if err != nil {
			return err
		}
		for _, t := range tenants {
			m.TenantUsage = append(m.TenantUsage, TenantUsageReport{TenantID: t.ID, Name: t.Name, Slug: t.Slug,
				Status: t.Status, PlanName: t.PlanName, Limits: t.Limits, Usage: t.Usage, Exceeded: crm.Exceeded(t.Limits, t.Usage)})
		}
		return nil
	})
	return m, translate(err)
}

func collectCounts(rows pgx.Rows, into map[string]int) error {
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		into[k] = n
	}
	return rows.Err()
}
