package persistence_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// BenchmarkCampaignStart starts a campaign to CRM_CAMPAIGN_BENCH_CONTACTS
// contacts (default 100,000) with a label, a tenth of them opted out: the
// recipients are written by one INSERT … SELECT in the starting
// transaction. It reports recipients written a second and the Go heap
// grown per start (flat: no recipient passes through the process).
func BenchmarkCampaignStart(b *testing.B) {
	n := 100_000
	if s := os.Getenv("CRM_CAMPAIGN_BENCH_CONTACTS"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	ctx := context.Background()
	db := pgtest.NewDB(b)
	tenant := createTenant(b, db, "bulk")
	conn, label := crm.NewID(), crm.NewID()
	_, err := db.Pool.Exec(ctx, `UPDATE plans SET max_monthly_campaigns = NULL, max_contacts = NULL
		WHERE id = (SELECT plan_id FROM tenants WHERE id = $1)`, tenant)
	require.NoError(b, err)
	require.NoError(b, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'wa', 'whatsapp', 'sandbox', 'v', 's')`, tenant, conn); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, 'todos')`, tenant, label); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone, opted_out)
			SELECT $1, gen_random_uuid(), 'Cliente ' || g, '+55219' || lpad(g::text, 8, '0'), g % 10 = 0
			FROM generate_series(1, $2) g`, tenant, n); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id) SELECT $1, id, $2 FROM contacts WHERE tenant_id = $1`,
			tenant, label)
		return err
	}))
	_, err = db.Pool.Exec(ctx, `VACUUM ANALYZE contacts, contact_labels`)
	require.NoError(b, err)
	fields := persistence.CampaignFields{Name: "bulk", ConnectionID: conn, RatePerMinute: 60000,
		Message:  crm.ScheduledContent{Type: "template", Template: []byte(`{"name":"boas_vindas","language":{"code":"pt_BR"}}`)},
		Audience: crm.Audience{LabelIDs: []uuid.UUID{label}}}
	var written int
	var heap uint64
	var spent time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		fields.Name = fmt.Sprintf("bulk %d", i)
		i++
		c, _, err := db.CreateCampaign(ctx, tenant, persistence.AuditEntry{}, fields)
		require.NoError(b, err)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		started, _, err := db.StartCampaign(ctx, tenant, c.ID, persistence.AuditEntry{}, time.Now(), nil)
		spent += time.Since(start)
		b.StopTimer()
		require.NoError(b, err)
		runtime.ReadMemStats(&after)
		heap += after.TotalAlloc - before.TotalAlloc
		written += started.Stats.Total
		require.Equal(b, n, started.Stats.Total)
		require.Equal(b, n/10, started.Stats.Skipped)
		b.StartTimer()
	}
	b.ReportMetric(float64(written)/spent.Seconds(), "recipients/s")
	b.ReportMetric(float64(heap)/float64(i), "B-allocated/start")
}
