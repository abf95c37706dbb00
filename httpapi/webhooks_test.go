package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels"
	"crm/channels/meta"
	"crm/channels/providers"
	"crm/persistence"
	crmpb "crm/proto"
)

// fixture reads a file of ../shared/fixtures.
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", path))
	require.NoError(t, err)
	return raw
}

type recordingDispatcher struct {
	mu         sync.Mutex
	events     []InboundDispatch
	overloaded bool
}

func (d *recordingDispatcher) Overloaded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.overloaded
}

func (d *recordingDispatcher) Dispatch(_ context.Context, events []InboundDispatch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, events...)
}

func (d *recordingDispatcher) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.events)
}

// webhookEnv is a server whose one connection is a meta/WhatsApp connection
// with the fixtures' app secret and verify token.
type webhookEnv struct {
	*testEnv
	tenant     tenantFixture
	connID     uuid.UUID
	dispatcher *recordingDispatcher
	inbox      *persistence.InboxWriter
}

func newWebhookEnv(t *testing.T) *webhookEnv {
	t.Helper()
	connID := crm.NewID()
	var tenantID uuid.UUID
	adapter, err := meta.New(meta.Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{
		AppSecret: "test_app_secret_123", VerifyToken: "meu-token-de-verificacao", AccessToken: "token"}})
	require.NoError(t, err)
	dispatcher := &recordingDispatcher{}
	var inbox *persistence.InboxWriter
	env := newTestEnv(t, func(c *Config) {
		inbox = persistence.NewInboxWriter(c.DB, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
		c.Inbox = inbox
		c.Dispatcher = dispatcher
		c.WebhookConnections = func(ctx context.Context, id uuid.UUID) (*providers.WebhookConnection, error) {
			if id != connID {
				return nil, crm.NotFound("connection")
			}
			return &providers.WebhookConnection{ID: connID, TenantID: tenantID, Provider: "meta", Adapter: adapter}, nil
		}
	})
	t.Cleanup(inbox.Close)
	tenant := env.tenant("hooks")
	tenantID = tenant.ID
	return &webhookEnv{testEnv: env, tenant: tenant, connID: connID, dispatcher: dispatcher, inbox: inbox}
}

func (e *webhookEnv) inboxCount() int {
	e.t.Helper()
	var n int
	ctx := context.Background()
	require.NoError(e.t, e.db.TenantTx(ctx, e.tenant.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events`).Scan(&n)
	}))
	return n
}

func TestWebhookStoresOnceAndAcknowledges(t *testing.T) {
	t.Parallel()
	env := newWebhookEnv(t)
	body := fixture(t, "whatsapp/text.json")
	path := "/webhooks/meta/" + env.connID.String()
	sig := "sha256=bee4f4b29df8ed4991ec66c706039a7553352016b0541782a83ffd793278b1fa"

	// Meta retries and may deliver concurrently: three copies, one row.
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := env.doHeaders(http.MethodPost, path, "", body, map[string]string{"X-Hub-Signature-256": sig})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		}()
	}
	wg.Wait()
	require.Equal(t, 1, env.inboxCount())
	require.Equal(t, 1, env.dispatcher.count(), "only the stored copy is dispatched")
	ev := env.dispatcher.events[0]
	require.Equal(t, env.tenant.ID, ev.TenantID)
	require.NotNil(t, ev.Event.GetInboundMessage())
}

func TestWebhookRejectsBadSignaturesAndBodies(t *testing.T) {
	t.Parallel()
	env := newWebhookEnv(t)
	body := fixture(t, "whatsapp/text.json")
	path := "/webhooks/meta/" + env.connID.String()
	reserialised := strings.ReplaceAll(string(body), "\n", "")
	cases := []struct {
		name   string
		body   []byte
		sig    string
		status int
	}{
		{"missing signature", body, "", 401},
		{"wrong signature", body, "sha256=" + strings.Repeat("0", 64), 401},
		{"signature of another body", []byte(reserialised), "sha256=bee4f4b29df8ed4991ec66c706039a7553352016b0541782a83ffd793278b1fa", 401},
		{"not json, signed", []byte("{not json"), meta.Sign("test_app_secret_123", []byte("{not json")), 400},
		{"truncated, signed", body[:len(body)/2], meta.Sign("test_app_secret_123", body[:len(body)/2]), 400},
	}
	for _, tc := range cases {
		headers := map[string]string{}
		if tc.sig != "" {
			headers["X-Hub-Signature-256"] = tc.sig
		}
		res := env.doHeaders(http.MethodPost, path, "", tc.body, headers)
		require.Equal(t, tc.status, res.Status, "%s: %s", tc.name, res.Body)
	}
	require.Equal(t, 0, env.inboxCount(), "nothing stored")

	res := env.doHeaders(http.MethodPost, "/webhooks/meta/"+crm.NewID().String(), "", body, map[string]string{"X-Hub-Signature-256": "sha256=x"})
	require.Equal(t, http.StatusNotFound, res.Status)
	require.NotContains(t, string(res.Body), "tenant")
	res = env.doHeaders(http.MethodPost, "/webhooks/meta/not-a-uuid", "", body, nil)
	require.Equal(t, http.StatusNotFound, res.Status)

	big := make([]byte, 10<<20)
	res = env.doHeaders(http.MethodPost, path, "", big, map[string]string{"X-Hub-Signature-256": meta.Sign("test_app_secret_123", big)})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
	require.Equal(t, 0, env.inboxCount())
}

func TestWebhookHandshake(t *testing.T) {
	t.Parallel()
	env := newWebhookEnv(t)
	path := "/webhooks/meta/" + env.connID.String()
	res := env.do(http.MethodGet, path+"?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meu-token-de-verificacao", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "1158201444", string(res.Body))
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"))
	res = env.do(http.MethodGet, path+"?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong", "", nil)
	require.Equal(t, http.StatusForbidden, res.Status)
}

func TestWebhookStoresEveryFixtureOnce(t *testing.T) {
	t.Parallel()
	env := newWebhookEnv(t)
	path := "/webhooks/meta/" + env.connID.String()
	names := []string{"text.json", "image.json", "audio_voice.json", "document.json", "location.json",
		"status_sent.json", "status_delivered.json", "status_read.json", "status_failed_131047.json"}
	for round := 0; round < 2; round++ {
		for _, name := range names {
			body := fixture(t, "whatsapp/"+name)
			res := env.doHeaders(http.MethodPost, path, "", body, map[string]string{"X-Hub-Signature-256": meta.Sign("test_app_secret_123", body)})
			require.Equal(t, http.StatusOK, res.Status, fmt.Sprintf("%s: %s", name, res.Body))
		}
	}
	require.Equal(t, len(names), env.inboxCount(), "each fixture stored once across two deliveries")
	kinds := map[string]int{}
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, env.tenant.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind, count(*) FROM inbound_events GROUP BY kind`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			kinds[k] = n
		}
		return rows.Err()
	}))
	require.Equal(t, map[string]int{"message": 5, "status": 4}, kinds)
}

// TestWebhookNotDurableIsNotAcknowledged: when the inbox cannot store the
// events, the provider gets a 5xx (so Meta retries), never a 200, and nothing
// is handed to the engine (guarantee 1).
func TestWebhookNotDurableIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	env := newWebhookEnv(t)
	env.inbox.Close()
	body := fixture(t, "whatsapp/text.json")
	res := env.doHeaders(http.MethodPost, "/webhooks/meta/"+env.connID.String(), "", body,
		map[string]string{"X-Hub-Signature-256": meta.Sign("test_app_secret_123", body)})
	require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Body))
	require.Equal(t, 0, env.inboxCount())
	require.Equal(t, 0, env.dispatcher.count())
}

// TestWebhookShedWhileProcessingIsBehind: while the engine says it is
// overloaded, a Meta webhook is answered 503 with Retry-After and a JSON
// error, nothing is stored or dispatched; once it catches up the same
// delivery (Meta's retry) is stored and acknowledged.
func TestWebhookShedWhileProcessingIsBehind(t *testing.T) {
	t.Parallel()
	env := newWebhookEnv(t)
	body := fixture(t, "whatsapp/text.json")
	headers := map[string]string{"X-Hub-Signature-256": meta.Sign("test_app_secret_123", body)}
	path := "/webhooks/meta/" + env.connID.String()

	env.dispatcher.mu.Lock()
	env.dispatcher.overloaded = true
	env.dispatcher.mu.Unlock()
	res := env.doHeaders(http.MethodPost, path, "", body, headers)
	require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Body))
	require.Equal(t, "2", res.Header.Get("Retry-After"))
	require.Contains(t, string(res.Body), `"code":"overloaded"`)
	require.Equal(t, 0, env.inboxCount())
	require.Equal(t, 0, env.dispatcher.count())

	env.dispatcher.mu.Lock()
	env.dispatcher.overloaded = false
	env.dispatcher.mu.Unlock()
	res = env.doHeaders(http.MethodPost, path, "", body, headers)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, 1, env.inboxCount())
	require.Equal(t, 1, env.dispatcher.count())
}
