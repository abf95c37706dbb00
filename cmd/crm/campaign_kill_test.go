package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestCampaignSurvivesKilledNodes: a campaign of 400 recipients runs at
// 6,000 a minute on a two-node cluster; midway the node running its lane
// is SIGKILLed (no leave, no flush), and then the other too, and a new node
// starts. The campaign's state is its recipients' rows: the new node's
// sweep wakes the lane, which carries on from the recipients not yet
// handed over. Every recipient ends with exactly one message, and the
// campaign completes.
func TestCampaignSurvivesKilledNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	bin := filepath.Join(t.TempDir(), "crm")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	dbURL := pgtest.NewDatabase(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "CRM_SECRET_KEY=MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"CRM_MEDIA_DIR="+t.TempDir(), "CRM_LICENSE_SIGNING_KEY=", "CRM_LICENSE_PUBLIC_KEY=", "CRM_SEND_RATE=500",
		// A send stored just before its node died is handed over again soon.
		"CRM_STALE_SEND_AFTER=3s")
	demo := exec.Command(bin, "demo")
	demo.Env = append(env, "CRM_HTTP_ADDR=127.0.0.1:1")
	out, err := demo.CombinedOutput()
	require.NoError(t, err, string(out))

	a := startProcess(t, bin, env, "")
	b := startProcess(t, bin, env, a.gossip)
	ctx := context.Background()
	db, err := persistence.Open(ctx, persistence.Config{URL: dbURL}, nil)
	require.NoError(t, err)
	defer db.Close()
	tenantID, err := db.TenantBySlug(ctx, "demo")
	require.NoError(t, err)
	var connID uuid.UUID
	labelID := crm.NewID()
	const n = 400
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM connections WHERE provider = 'sandbox'`).Scan(&connID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, 'Campanha teste')`, tenantID, labelID); err != nil {
			return err
		}
		for i := range n {
			id := crm.NewID()
			if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone) VALUES ($1, $2, $3, $4)`,
				tenantID, id, fmt.Sprintf("Recipiente %d", i), fmt.Sprintf("+5531977%06d", i)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id) VALUES ($1, $2, $3)`, tenantID, id, labelID); err != nil {
				return err
			}
		}
		return nil
	}))

	token := login(t, "http://"+a.http, demoAdminEmail)
	var created struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	require.Equal(t, http.StatusCreated, apiCall(t, "http://"+a.http, token, http.MethodPost, "/api/v1/campaigns", map[string]any{
		"name": "Sobrevive", "connection_id": connID, "rate_per_minute": 6000,
		"audience": map[string]any{"label_ids": []uuid.UUID{labelID}},
		"message":  map[string]any{"type": "template", "template": map[string]any{"name": "boas_vindas", "language": map[string]any{"code": "pt_BR"}}},
	}, &created))
	require.Equal(t, http.StatusOK, apiCall(t, "http://"+b.http, token, http.MethodPost, "/api/v1/campaigns/"+created.ID+"/start", nil, &created))
	require.Equal(t, "running", created.Status)

	count := func(q string) int {
		var c int
		require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error { return tx.QueryRow(ctx, q).Scan(&c) }))
		return c
	}
	stored := func() int { return count(`SELECT count(*) FROM messages WHERE via = 'campaign'`) }
	require.Eventually(t, func() bool { return stored() >= 60 }, 20*time.Second, 50*time.Millisecond, "the campaign sends")
	// Both nodes die, one after the other, mid-campaign.
	for _, p := range []*process{a, b} {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		_, _ = p.cmd.Process.Wait()
		time.Sleep(300 * time.Millisecond)
	}
	atKill := stored()
	require.Less(t, atKill, n, "killed before the campaign ended")
	t.Logf("%d of %d stored when the nodes died", atKill, n)
	startProcess(t, bin, env, "")

	campaignStatus := func() string {
		var s string
		require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, created.ID).Scan(&s)
		}))
		return s
	}
	require.Eventually(t, func() bool { return campaignStatus() == "completed" }, 60*time.Second, 200*time.Millisecond, "the campaign completes")
	require.Equal(t, n, stored(), "one message per recipient")
	require.Equal(t, n, count(`SELECT count(DISTINCT contact_id) FROM messages WHERE via = 'campaign'`))
	require.Equal(t, n, count(`SELECT count(*) FROM campaign_recipients WHERE message_id IS NOT NULL`))
	require.Zero(t, count(`SELECT count(*) FROM campaign_recipients r JOIN messages m ON m.tenant_id = r.tenant_id AND m.id = r.message_id
		WHERE m.contact_id <> r.contact_id`), "each recipient names its own message")
	// Every message reaches the provider: the ones left pending by the dead
	// nodes are handed over again by the sweeper.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM messages WHERE via = 'campaign' AND status = 'pending'`) == 0
	}, 30*time.Second, 200*time.Millisecond, "no send left pending")
}
