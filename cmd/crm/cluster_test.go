package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm/channels/meta"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// startNodes starts n whole nodes in this process on one database, the
// second and later seeded with the first's gossip address.
func startNodes(t *testing.T, n int) ([]*node, Config) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	var nodes []*node
	var base Config
	for i := 0; i < n; i++ {
		env := map[string]string{
			"DATABASE_URL":   url,
			"CRM_HTTP_ADDR":  "127.0.0.1:0",
			"CRM_SECRET_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
			"CRM_MEDIA_DIR":  t.TempDir(),
		}
		if i > 0 {
			env["CRM_CLUSTER_SEEDS"] = nodes[0].cluster.GossipAddr()
		}
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		require.NoError(t, err)
		if i == 0 {
			base = cfg
		}
		nd, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			nd.Shutdown(ctx) //nolint:errcheck
		})
		nodes = append(nodes, nd)
	}
	require.Eventually(t, func() bool {
		for _, nd := range nodes {
			if len(nd.cluster.Members()) != n {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond, "every node sees %d members", n)
	return nodes, base
}

func login(t *testing.T, base, email string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": demoPassword})
	res, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out.AccessToken
}

// console is a WebSocket client that records the frames it receives.
type console struct {
	conn   net.Conn
	r      io.Reader
	mu     sync.Mutex
	frames []frame
}

type frame struct {
	Type string          `json:"type"`
	Seq  int64           `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// wsTicket asks the node at base for a one-use socket ticket.
func wsTicket(t *testing.T, base, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/ws/ticket", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out struct {
		Ticket string `json:"ticket"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out.Ticket
}

// dialConsole opens a console's socket on addr with a ticket (from any node).
func dialConsole(t *testing.T, addr, ticket string, since int64) *console {
	t.Helper()
	conn, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+addr+"/api/v1/ws?ticket="+ticket)
	require.NoError(t, err)
	c := &console{conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	t.Cleanup(func() { conn.Close() })
	resume, _ := json.Marshal(map[string]any{"type": "resume", "since": since})
	require.NoError(t, wsutil.WriteClientText(conn, resume))
	go func() {
		for {
			f, err := ws.ReadFrame(c.r)
			if err != nil {
				return
			}
			switch f.Header.OpCode {
			case ws.OpPing:
				_ = ws.WriteFrame(conn, ws.MaskFrame(ws.NewPongFrame(f.Payload)))
				continue
			case ws.OpClose:
				return
			case ws.OpText, ws.OpBinary:
			default:
				continue
			}
			var fr frame
			if json.Unmarshal(f.Payload, &fr) == nil {
				c.mu.Lock()
				c.frames = append(c.frames, fr)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// messageSeqs are the tenant seqs of the message.created frames, in arrival order.
func (c *console) messageSeqs() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for _, f := range c.frames {
		if f.Type == "message.created" {
			out = append(out, f.Seq)
		}
	}
	return out
}

func (c *console) lastSeq() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last int64
	for _, f := range c.frames {
		last = max(last, f.Seq)
	}
	return last
}

// sandboxConnection returns the demo tenant's sandbox connection: its id,
// app secret and phone_number_id.
func sandboxConnection(t *testing.T, nd *node, tenantSlug string) (uuid.UUID, string, string) {
	t.Helper()
	ctx := context.Background()
	tenantID, err := nd.db.TenantBySlug(ctx, tenantSlug)
	require.NoError(t, err)
	var connID uuid.UUID
	require.NoError(t, nd.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM connections WHERE provider = 'sandbox'`).Scan(&connID)
	}))
	sec, err := persistence.LoadConnection(ctx, nd.db, nd.sealer, tenantID, connID)
	require.NoError(t, err)
	return connID, sec.Credentials["app_secret"], sec.ExternalID
}

func webhookBody(phoneNumberID, from, id, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511900000000","phone_number_id":%q},
		"contacts":[{"profile":{"name":"Cliente %s"},"wa_id":%q}],
		"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}]}}]}]}`,
		phoneNumberID, from[len(from)-4:], from, from, id, time.Now().Unix(), text))
}

func postWebhook(base string, connID uuid.UUID, secret string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/sandbox/"+connID.String(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", meta.Sign(secret, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body) //nolint:errcheck
	res.Body.Close()
	return res.StatusCode, nil
}

// TestThreeNodesWebhookOnAConsoleOnC: webhooks hitting node A for
// conversations owned across the cluster are stored once each and seen live,
// in order, by a console connected to node C.
func TestThreeNodesWebhookOnAConsoleOnC(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	// Not parallel: three nodes' failure detection wants a quiet machine.
	nodes, cfg := startNodes(t, 3)
	a, c := nodes[0], nodes[2]
	require.NoError(t, seedDemo(context.Background(), a, cfg, io.Discard))
	connID, secret, phoneID := sandboxConnection(t, a, "demo")
	baseA, baseC := "http://"+a.Addr(), "http://"+c.Addr()
	token := login(t, baseC, demoAdminEmail)
	// The ticket node A issues opens the socket on node C: it verifies itself.
	cons := dialConsole(t, c.Addr(), wsTicket(t, baseA, token), 0)
	demoID, err := a.db.TenantBySlug(context.Background(), "demo")
	require.NoError(t, err)
	// The tenant's events go to C only, once every node has heard the
	// others' tenant sets (a member not heard from yet gets everything).
	require.Eventually(t, func() bool {
		for _, nd := range nodes {
			if got := nd.router.Targets(demoID); len(got) != 1 || got[0] != c.cluster.Address() {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "every node routes the demo tenant to C alone")

	const contacts, perContact = 12, 2
	for i := 0; i < perContact; i++ {
		for k := 0; k < contacts; k++ {
			from := fmt.Sprintf("55119876500%02d", k)
			body := webhookBody(phoneID, from, fmt.Sprintf("wamid.%d.%d", k, i), fmt.Sprintf("mensagem %d", i))
			status, err := postWebhook(baseA, connID, secret, body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			status, err = postWebhook(baseA, connID, secret, body) // a retry: still one message
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
		}
	}
	total := contacts * perContact
	if !assertEventually(func() bool { return len(cons.messageSeqs()) >= total }, 20*time.Second) {
		cons.mu.Lock()
		types := map[string]int{}
		for _, f := range cons.frames {
			types[f.Type]++
		}
		cons.mu.Unlock()
		ctx := context.Background()
		tenantID, _ := a.db.TenantBySlug(ctx, "demo")
		var stored, inbox, pending int
		_ = a.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			_ = tx.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&stored)
			_ = tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM inbound_events`).Scan(&inbox, &pending)
			return nil
		})
		var lastErr string
		_ = a.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT coalesce(max(last_error), '') FROM inbound_events`).Scan(&lastErr)
		})
		t.Fatalf("console on C saw %d of %d messages; frames by type: %v; stored %d, inbox %d (%d pending, last error %q)",
			len(cons.messageSeqs()), total, types, stored, inbox, pending, lastErr)
	}
	seqs := cons.messageSeqs()
	require.Len(t, seqs, total, "no duplicates")
	require.Zero(t, a.gateway.Stats().Published, "A has no console: its gateway was sent nothing")
	require.Zero(t, nodes[1].gateway.Stats().Published, "B has no console: its gateway was sent nothing")
	for i := 1; i < len(seqs); i++ {
		require.Greater(t, seqs[i], seqs[i-1], "in order")
	}

	// Stored once each, spread over conversations owned by different nodes.
	ctx := context.Background()
	tenantID, _ := a.db.TenantBySlug(ctx, "demo")
	var messages, conversations int
	require.NoError(t, a.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&messages); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM conversations`).Scan(&conversations)
	}))
	require.Equal(t, total, messages)
	require.Equal(t, contacts, conversations)
	owners := map[string]bool{}
	for k := 0; k < contacts; k++ {
		owners[ownerOf(t, a, tenantID, connID, fmt.Sprintf("55119876500%02d", k))] = true
	}
	require.Greater(t, len(owners), 1, "conversations are owned by more than one node")
}

// ownerOf names the member hosting a contact's conversation grain.
func ownerOf(t *testing.T, nd *node, tenantID, connID uuid.UUID, waID string) string {
	t.Helper()
	ctx := context.Background()
	var contactID uuid.UUID
	require.NoError(t, nd.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT contact_id FROM contact_identities WHERE external_id = $1`, waID).Scan(&contactID)
	}))
	pid := nd.cluster.Cluster().Get(tenantID.String()+"/"+connID.String()+"/"+contactID.String(), "conversation")
	require.NotNil(t, pid)
	return pid.Address
}

func assertEventually(cond func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}
