package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/channels"
	"crm/channels/meta"
	"crm/channels/providers"
	"crm/cluster"
	"crm/persistence"
	crmpb "crm/proto"
	"crm/realtime"
)

// checkFor polls fn until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %v", timeout, err)
}

// fakeGraph is a stand-in for Meta's Graph API that records sends.
type fakeGraph struct {
	mu    sync.Mutex
	sends []map[string]any
	times []time.Time // when each send arrived
	fail  int         // answer this many sends with 130429 before accepting
	fail5 int         // then this many with HTTP 500 (131000, something went wrong)
	error string      // when set, answer every send 400 with this body
	srv   *httptest.Server
}

func newFakeGraph(t testing.TB) *fakeGraph {
	g := &fakeGraph{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.error != "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(g.error))
			return
		}
		if g.fail > 0 {
			g.fail--
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},"fbtrace_id":"A"}}`))
			return
		}
		if g.fail5 > 0 {
			g.fail5--
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000,"fbtrace_id":"B"}}`))
			return
		}
		g.sends = append(g.sends, m)
		g.times = append(g.times, time.Now())
		_, _ = fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"%v","wa_id":"%v"}],"messages":[{"id":"wamid.sent.%d"}]}`,
			m["to"], m["to"], len(g.sends))
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGraph) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sends)
}

type staticConnections struct{ provider channels.Provider }

func (s staticConnections) Provider(context.Context, uuid.UUID, uuid.UUID) (channels.Provider, error) {
	return s.provider, nil
}

// engineEnv is a whole node in one process: HTTP, inbox, a one-node cluster
// hosting the grains, and a WhatsApp connection whose Graph API is fake.
type engineEnv struct {
	*webhookEnv
	engine *actors.Engine
	graph  *fakeGraph
	events chan crm.TenantEvent
}

const appSecret = "test_app_secret_123"

// newEngineEnv builds the node; tune changes the engine's configuration.
func newEngineEnv(t testing.TB, tune ...func(*actors.EngineConfig)) *engineEnv {
	t.Helper()
	graph := newFakeGraph(t)
	adapter, err := meta.New(meta.Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{
		AppSecret: appSecret, VerifyToken: "meu-token-de-verificacao", AccessToken: "token", PhoneNumberID: "123456123"},
		Settings: channels.Settings{GraphBaseURL: graph.srv.URL}})
	require.NoError(t, err)
	connID := crm.NewID()
	var tenantID uuid.UUID
	var engine *actors.Engine
	events := make(chan crm.TenantEvent, 1000)
	env := newTestEnv(t, func(c *Config) {
		c.Registry = prometheus.NewRegistry() // the engine's metrics beside the server's, as in crm serve
		cfg := actors.EngineConfig{DB: c.DB, Log: slog.New(slog.DiscardHandler), Registry: c.Registry,
			Connections: staticConnections{adapter}, SweepAfter: 200 * time.Millisecond}
		for _, f := range tune {
			f(&cfg)
		}
		engine, err = actors.NewEngine(cfg)
		require.NoError(t, err)
		node, err := cluster.Start(context.Background(), cluster.Config{Kinds: engine.Kinds(), Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		t.Cleanup(func() { node.Shutdown(false) })
		engine.Attach(node)
		engine.OnPublish(actors.PublisherFunc(func(_ uuid.UUID, evs []crm.TenantEvent) {
			for _, e := range evs {
				select {
				case events <- e:
				default:
				}
			}
		}))
		// Live delivery as the serve command wires it: the router sends to
		// this node's gateway, the one the socket route serves.
		c.Gateway = realtime.NewGateway(realtime.GatewayConfig{Log: c.Log})
		_, err = c.Gateway.Spawn(node.System())
		require.NoError(t, err)
		router, err := realtime.NewRouter(realtime.RouterConfig{Log: c.Log}, c.Gateway, node)
		require.NoError(t, err)
		t.Cleanup(router.Stop)
		engine.OnPublish(router)
		engine.Start(context.Background())
		t.Cleanup(engine.Stop)
		inbox := persistence.NewInboxWriter(c.DB, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
		t.Cleanup(inbox.Close)
		c.Inbox, c.Dispatcher, c.Engine = inbox, engine, engine
		c.WebhookConnections = func(ctx context.Context, id uuid.UUID) (*providers.WebhookConnection, error) {
			if id != connID {
				return nil, crm.NotFound("connection")
			}
			return &providers.WebhookConnection{ID: connID, TenantID: tenantID, Provider: "meta", Adapter: adapter}, nil
		}
	})
	tenant := env.tenant("engine")
	tenantID = tenant.ID
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret, external_id)
			VALUES ($1, $2, 'WhatsApp', 'whatsapp', 'meta', 'meu-token-de-verificacao', 's', '')`, tenant.ID, connID)
		return err
	}))
	return &engineEnv{webhookEnv: &webhookEnv{testEnv: env, tenant: tenant, connID: connID}, engine: engine, graph: graph, events: events}
}

func (e *engineEnv) postWebhook(body []byte) {
	e.t.Helper()
	res := e.doHeaders(http.MethodPost, "/webhooks/meta/"+e.connID.String(), "", body,
		map[string]string{"X-Hub-Signature-256": meta.Sign(appSecret, body)})
	require.Equal(e.t, http.StatusOK, res.Status, string(res.Body))
}

// waitConversations polls the conversation list, as the tenant's admin sees
// it (query as in "?q=Maria"), until it holds n, and returns them.
func (e *engineEnv) waitConversations(query string, n int) []map[string]any {
	e.t.Helper()
	var items []map[string]any
	checkFor(e.t, 10*time.Second, func() error {
		items = e.do(http.MethodGet, "/api/v1/conversations"+query, e.tenant.AdminToken, nil).Items()
		if len(items) != n {
			return fmt.Errorf("%d conversations, want %d", len(items), n)
		}
		return nil
	})
	return items
}

// openConversation posts a customer's text and waits for the conversation it
// opens, the tenant's only one.
func (e *engineEnv) openConversation(from, name, wamid, text string) map[string]any {
	e.t.Helper()
	e.postWebhook(whatsappText(from, name, wamid, text, time.Now()))
	return e.waitConversations("", 1)[0]
}

// messages is a conversation's first page of messages, as its admin sees it.
func (e *engineEnv) messages(convID string) []map[string]any {
	e.t.Helper()
	return e.do(http.MethodGet, "/api/v1/conversations/"+convID+"/messages", e.tenant.AdminToken, nil).Items()
}

func whatsappText(from, name, id, text string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511900000000","phone_number_id":"123456123"},
		"contacts":[{"profile":{"name":%q},"wa_id":%q}],
		"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}]}}]}]}`,
		name, from, from, id, at.Unix(), text))
}

func whatsappStatus(id, status string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511900000000","phone_number_id":"123456123"},
		"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"5511987654321"}]}}]}]}`, id, status, at.Unix()))
}

func TestInboundToConversationToReplyAndStatuses(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	now := time.Now()
	env.postWebhook(whatsappText("5511987654321", "Maria Silva", "wamid.in.1", "Olá, tudo bem?", now))
	env.postWebhook(whatsappText("5511987654321", "Maria Silva", "wamid.in.1", "Olá, tudo bem?", now)) // Meta's retry
	env.postWebhook(whatsappText("5511987654321", "Maria Silva", "wamid.in.2", "Quero um orçamento", now.Add(time.Second)))

	var conv map[string]any
	checkFor(t, 10*time.Second, func() error {
		items := env.do(http.MethodGet, "/api/v1/conversations", env.tenant.AdminToken, nil).Items()
		if len(items) != 1 {
			return fmt.Errorf("%d conversations", len(items))
		}
		if items[0]["last_seq"].(float64) != 2 {
			return fmt.Errorf("last_seq %v", items[0]["last_seq"])
		}
		conv = items[0]
		return nil
	})
	require.Equal(t, "Quero um orçamento", conv["last_message_preview"])
	require.EqualValues(t, 2, conv["unread_count"])
	require.Equal(t, "Maria Silva", conv["contact"].(map[string]any)["name"])
	require.Equal(t, "+5511987654321", conv["contact"].(map[string]any)["phone"])
	require.NotNil(t, conv["window_expires_at"])
	convID := conv["id"].(string)

	msgs := env.messages(convID)
	require.Len(t, msgs, 2, "the retried webhook made no second message")
	require.EqualValues(t, 1, msgs[0]["seq"])
	require.Equal(t, "Olá, tudo bem?", msgs[0]["text"])

	// The agent replies; a repeat of the request with the same key sends nothing more.
	body := map[string]any{"type": "text", "text": "Claro! Qual produto?", "idempotency_key": "k-1"}
	first := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken, body)
	require.Equal(t, http.StatusAccepted, first.Status, string(first.Body))
	require.Equal(t, "pending", first.JSON()["status"])
	again := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken, body)
	require.Equal(t, http.StatusAccepted, again.Status)
	require.Equal(t, first.JSON()["id"], again.JSON()["id"])

	messageID := first.JSON()["id"].(string)
	var external string
	checkFor(t, 10*time.Second, func() error {
		m := env.messages(convID)[2]
		if m["status"] != "sent" {
			return fmt.Errorf("status %v", m["status"])
		}
		external = m["external_id"].(string)
		return nil
	})
	require.Equal(t, 1, env.graph.count(), "sent exactly once")
	require.Equal(t, "5511987654321", env.graph.sends[0]["to"])
	require.Equal(t, "Claro! Qual produto?", env.graph.sends[0]["text"].(map[string]any)["body"])

	// Statuses out of order: read before delivered; the message ends read.
	env.postWebhook(whatsappStatus(external, "read", now.Add(3*time.Second)))
	env.postWebhook(whatsappStatus(external, "delivered", now.Add(2*time.Second)))
	checkFor(t, 10*time.Second, func() error {
		for _, m := range env.messages(convID) {
			if m["id"] == messageID && m["status"] == "read" && m["read_at"] != nil {
				return nil
			}
		}
		return fmt.Errorf("not read yet")
	})

	// The events consoles get are in seq order and include every step.
	seen := map[string]int{}
	var last int64
	drain := time.After(500 * time.Millisecond)
loop:
	for {
		select {
		case ev := <-env.events:
			require.Greater(t, ev.Seq, last, "seq increases")
			last = ev.Seq
			seen[ev.Type]++
		case <-drain:
			break loop
		}
	}
	require.Equal(t, 1, seen["conversation.created"])
	require.Equal(t, 3, seen["message.created"])
	require.GreaterOrEqual(t, seen["message.updated"], 2)
}

func TestSendRetriesRateLimitsAndRefusesOutsideTheWindow(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	env.graph.fail = 2
	convID := env.openConversation("5521999990000", "João", "wamid.in.x", "Oi")["id"].(string)
	res := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken,
		map[string]any{"text": "Olá", "idempotency_key": "rl-1"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	checkFor(t, 15*time.Second, func() error {
		if env.graph.count() != 1 {
			return fmt.Errorf("%d sends accepted", env.graph.count())
		}
		return nil
	})

	// Close the window by hand: a free-form send is refused before calling Meta.
	ctx := context.Background()
	id := uuid.MustParse(convID)
	require.NoError(t, env.db.TenantTx(ctx, env.tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE conversations SET window_expires_at = now() - interval '1 minute', version = version + 1
			WHERE tenant_id = $1 AND id = $2`, env.tenant.ID, id)
		return err
	}))
	// The grain's cached copy is now stale: its write is fenced and retried on a fresh activation.
	res = env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken,
		map[string]any{"text": "Ainda aí?", "idempotency_key": "late-1"})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	require.Equal(t, "window_closed", res.ErrorCode())
	require.Equal(t, 1, env.graph.count())

	// Status changes and assignment go through the grain too.
	agentID, _ := env.user(env.tenant, crm.RoleAgent, "Ana")
	res = env.do(http.MethodPatch, "/api/v1/conversations/"+convID, env.tenant.AdminToken,
		map[string]any{"assignee_id": agentID.String(), "status": "resolved"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, agentID.String(), res.JSON()["assignee_id"])
	require.Equal(t, "resolved", res.JSON()["status"])
	res = env.do(http.MethodPatch, "/api/v1/conversations/"+convID, env.tenant.AdminToken, map[string]any{"status": "bogus"})
	require.Equal(t, http.StatusBadRequest, res.Status)
	note := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/notes", env.tenant.AdminToken, map[string]any{"text": "cliente VIP"})
	require.Equal(t, http.StatusCreated, note.Status, string(note.Body))
}

// TestSuspendedTenantSendsRefusedAtOnce: the tenant grain answers "may I
// send?" from memory, and a suspension made here reaches it at once.
func TestSuspendedTenantSendsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	owner := env.superAdmin()
	convID := env.openConversation("5531999990000", "Bia", "wamid.sus.1", "Oi")["id"].(string)
	send := func(key string) response {
		return env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken,
			map[string]any{"text": "Olá", "idempotency_key": key})
	}
	require.Equal(t, http.StatusAccepted, send("s-1").Status)

	res := env.do(http.MethodPost, "/api/v1/admin/tenants/"+env.tenant.ID.String()+"/suspend", owner, map[string]any{"reason": "payment overdue"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	// The admin's own token stops too, so ask as the platform owner would see it: the grain refuses.
	err := env.engine.MayI(context.Background(), env.tenant.ID, actors.ActionSend)
	require.Error(t, err)
	require.Contains(t, err.Error(), "suspended")
	// Its webhooks are still stored.
	env.postWebhook(whatsappText("5531999990000", "Bia", "wamid.sus.2", "Alguém aí?", time.Now()))

	res = env.do(http.MethodPost, "/api/v1/admin/tenants/"+env.tenant.ID.String()+"/reactivate", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.NoError(t, env.engine.MayI(context.Background(), env.tenant.ID, actors.ActionSend))
	require.Equal(t, http.StatusAccepted, send("s-2").Status)
	checkFor(t, 10*time.Second, func() error {
		msgs := env.messages(convID)
		if len(msgs) != 4 {
			return fmt.Errorf("%d messages", len(msgs))
		}
		return nil
	})
	require.NoError(t, env.engine.MayI(context.Background(), env.tenant.ID, actors.FeaturePrefix+"campaigns"))
}

// TestPendingSendOfADeadNodeIsResent: a send stored as pending whose node
// died before handing it over is sent by a sweeper later, once.
func TestPendingSendOfADeadNodeIsResent(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	conv := env.openConversation("5541999990000", "Caio", "wamid.stale.1", "Oi")
	// What a node that died right after storing the send leaves behind.
	ctx := context.Background()
	convID, contactID := uuid.MustParse(conv["id"].(string)), uuid.MustParse(conv["contact_id"].(string))
	key := "left-behind"
	require.NoError(t, env.db.TenantTx(ctx, env.tenant.ID, func(tx pgx.Tx) error {
		m := &crm.Message{TenantID: env.tenant.ID, ConversationID: convID, ConnectionID: env.connID, ContactID: contactID,
			Seq: 2, Direction: "outbound", Type: "text", Text: "Ainda está aí?", Status: "pending", IdempotencyKey: &key}
		_, err := persistence.InsertMessage(ctx, tx, m)
		return err
	}))
	// Twenty minutes later (the touch trigger would stamp now(): bypass it, as only a superuser can).
	tx, err := env.db.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE messages SET updated_at = now() - interval '20 minutes' WHERE tenant_id = $1 AND idempotency_key = $2`, env.tenant.ID, key)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	env.engine.Sweep(ctx)
	env.engine.Sweep(ctx) // a second sweep meanwhile does not send it again
	checkFor(t, 10*time.Second, func() error {
		for _, m := range env.messages(convID.String()) {
			if m["text"] == "Ainda está aí?" && m["status"] == "sent" {
				return nil
			}
		}
		return fmt.Errorf("not sent yet")
	})
	require.Equal(t, 1, env.graph.count(), "sent once")
}
