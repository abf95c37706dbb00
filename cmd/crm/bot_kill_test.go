package main

import (
	"bytes"
	"context"
	"encoding/json"
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

// TestBotFlowSurvivesKilledNodes: a flow answers, then waits on a delay
// node; every node of the cluster is SIGKILLed during the wait (no leave,
// no flush) and a new node starts. The wait is a row in PostgreSQL (a River
// job inserted with the session), so the new node wakes the conversation at
// its time and the flow goes on from where it stood: the message before the
// delay is not sent again, the one after it is sent once.
func TestBotFlowSurvivesKilledNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	bin := filepath.Join(t.TempDir(), "crm")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	dbURL := pgtest.NewDatabase(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "CRM_SECRET_KEY=MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"CRM_MEDIA_DIR="+t.TempDir(), "CRM_LICENSE_SIGNING_KEY=", "CRM_LICENSE_PUBLIC_KEY=")
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
	sealer, err := crm.NewSealer(mustKey())
	require.NoError(t, err)
	tenantID, err := db.TenantBySlug(ctx, "demo")
	require.NoError(t, err)
	var connID uuid.UUID
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM connections WHERE provider = 'sandbox'`).Scan(&connID)
	}))
	sec, err := persistence.LoadConnection(ctx, db, sealer, tenantID, connID)
	require.NoError(t, err)

	// The flow: "Recebido", a 4 s delay, "Pronto".
	token := login(t, "http://"+a.http, demoAdminEmail)
	pos := map[string]any{"x": 0, "y": 0}
	flow := map[string]any{"name": "Pedido", "trigger": map[string]any{"on": "keyword", "keywords": []string{"pedido"}},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": pos},
			{"id": "got", "type": "message", "name": "Recebido", "config": map[string]any{"text": "Recebido"}, "position": pos},
			{"id": "wait", "type": "delay", "name": "Espera", "config": map[string]any{"duration_s": 4}, "position": pos},
			{"id": "ready", "type": "message", "name": "Pronto", "config": map[string]any{"text": "Pronto"}, "position": pos},
			{"id": "end", "type": "end", "name": "Fim", "config": map[string]any{}, "position": pos},
		},
		"edges": []map[string]any{{"from": "start", "to": "got", "handle": "next"}, {"from": "got", "to": "wait", "handle": "next"},
			{"from": "wait", "to": "ready", "handle": "next"}, {"from": "ready", "to": "end", "handle": "next"}}}
	var created struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, apiCall(t, "http://"+a.http, token, http.MethodPost, "/api/v1/bot-flows", flow, &created))
	require.Equal(t, http.StatusOK, apiCall(t, "http://"+b.http, token, http.MethodPost, "/api/v1/bot-flows/"+created.ID+"/publish", nil, nil))

	// Node B published; node A reads the flows again within seconds.
	botTexts := func() []string {
		var texts []string
		_ = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT text FROM messages WHERE via = 'bot' ORDER BY seq`)
			if err != nil {
				return err
			}
			texts, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		return texts
	}
	started := time.Now()
	require.Eventually(t, func() bool {
		status, err := postWebhook("http://"+a.http, connID, sec.Credentials["app_secret"],
			webhookBody(sec.ExternalID, "5521987001234", "wamid.botkill."+time.Now().Format("150405.000"), "pedido"))
		return err == nil && status == http.StatusOK && assertEventually(func() bool { return len(botTexts()) > 0 }, 2*time.Second)
	}, 20*time.Second, 100*time.Millisecond, "the flow starts")
	require.Equal(t, []string{"Recebido"}, botTexts())

	// Every node dies during the wait.
	for _, p := range []*process{a, b} {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		_, _ = p.cmd.Process.Wait()
	}
	require.Less(t, time.Since(started), 4*time.Second, "killed before the delay ended")
	startProcess(t, bin, env, "")

	require.Eventually(t, func() bool { return len(botTexts()) == 2 }, 30*time.Second, 200*time.Millisecond, "the flow goes on after the delay")
	time.Sleep(2 * time.Second)
	require.Equal(t, []string{"Recebido", "Pronto"}, botTexts(), "each message once")
	var status string
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT status FROM bot_sessions`).Scan(&status)
	}))
	require.Equal(t, "completed", status)
}

func apiCall(t *testing.T, base, token, method, path string, body, out any) int {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(res.Body).Decode(out))
	}
	return res.StatusCode
}
