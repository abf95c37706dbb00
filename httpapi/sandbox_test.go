package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels"
	"crm/channels/meta"
	"crm/persistence"
	crmpb "crm/proto"
)

// sandboxEnv is a whole server: connections, the sandbox, the real webhook
// ingest (inbox and a recording dispatcher) wired to the connections table.
type sandboxEnv struct {
	*testEnv
	dispatcher *recordingDispatcher
	acme       tenantFixture
}

func newSandboxEnv(t *testing.T, mutate ...func(*Config)) *sandboxEnv {
	t.Helper()
	dispatcher := &recordingDispatcher{}
	var inbox *persistence.InboxWriter
	sealer := testSealer(t, 'x')
	env := newTestEnv(t, append([]func(*Config){func(c *Config) {
		inbox = persistence.NewInboxWriter(c.DB, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
		c.Inbox = inbox
		c.Dispatcher = dispatcher
		c.Sealer = sealer
		allowPrivateProviders(c) // the simulator fetches media from a loopback test server
		c.WebhookConnections = WebhookConnectionsFromDB(c.DB, sealer, c.Providers)
	}}, mutate...)...)
	t.Cleanup(inbox.Close)
	return &sandboxEnv{testEnv: env, dispatcher: dispatcher, acme: env.tenant("acme")}
}

func (e *sandboxEnv) createSandbox(name string) uuid.UUID {
	e.t.Helper()
	res := e.do(http.MethodPost, "/api/v1/connections", e.acme.AdminToken, map[string]any{"name": name, "channel": "whatsapp",
		"provider": "sandbox", "settings": map[string]any{"sandbox_status_delays_ms": []int{1, 1, 1}}})
	require.Equal(e.t, http.StatusCreated, res.Status, string(res.Body))
	return uuid.MustParse(res.JSON()["id"].(string))
}

func (e *sandboxEnv) dispatched() []InboundDispatch {
	e.dispatcher.mu.Lock()
	defer e.dispatcher.mu.Unlock()
	return append([]InboundDispatch(nil), e.dispatcher.events...)
}

// TestSandboxEndToEnd: the simulator's webhooks go through the real ingest
// route (signature, meta parser, inbox), sends go through the production meta
// adapter to the sandbox and come back as status webhooks.
func TestSandboxEndToEnd(t *testing.T) {
	t.Parallel()
	env := newSandboxEnv(t)
	connID := env.createSandbox("Sandbox")
	ctx := context.Background()
	_, agent := env.user(env.acme, crm.RoleAgent, "agent")
	photo := []byte("\xff\xd8\xff\xe0 a customer's photo")

	inbound := []map[string]any{
		{"from": "+55 11 98765-4321", "name": "Maria", "type": "text", "text": "Olá, quero um orçamento"},
		{"from": "5511987654321", "name": "Maria", "type": "image", "media": map[string]any{"mime_type": "image/jpeg",
			"caption": "essa peça", "data_base64": base64.StdEncoding.EncodeToString(photo)}},
		{"from": "5511987654321", "name": "Maria", "type": "location", "location": map[string]any{"latitude": -23.5, "longitude": -46.6}},
		{"from": "5511987654321", "name": "Maria", "type": "reaction", "reaction": map[string]any{"message_id": "wamid.x", "emoji": "👍"}},
		{"from": "5511987654321", "name": "Maria", "type": "interactive", "interactive": map[string]any{"type": "button_reply", "id": "sim", "title": "Sim"},
			"context": map[string]any{"message_id": "wamid.buttons"}},
	}
	var ids []string
	for _, body := range inbound {
		res := env.do(http.MethodPost, "/api/v1/sandbox/"+connID.String()+"/inbound", agent, body)
		require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
		require.EqualValues(t, http.StatusOK, res.JSON()["webhook_status"])
		ids = append(ids, res.JSON()["message_id"].(string))
	}
	checkFor(t, 5*time.Second, func() error {
		if n := len(env.dispatched()); n < len(inbound) {
			return fmt.Errorf("%d events dispatched", n)
		}
		return nil
	})
	types := map[string]crmpb.MessageType{}
	var image *crmpb.Message
	for _, d := range env.dispatched() {
		require.Equal(t, env.acme.ID, d.TenantID)
		require.Equal(t, connID, d.ConnectionID)
		in := d.Event.GetInboundMessage()
		require.NotNil(t, in)
		require.Equal(t, "5511987654321", in.Contact.WaId)
		require.Equal(t, "Maria", in.Contact.Name)
		types[in.Message.ExternalId] = in.Message.Type
		if in.Message.Type == crmpb.MessageType_MESSAGE_TYPE_IMAGE {
			image = in.Message
		}
	}
	require.Equal(t, map[string]crmpb.MessageType{ids[0]: crmpb.MessageType_MESSAGE_TYPE_TEXT, ids[1]: crmpb.MessageType_MESSAGE_TYPE_IMAGE,
		ids[2]: crmpb.MessageType_MESSAGE_TYPE_LOCATION, ids[3]: crmpb.MessageType_MESSAGE_TYPE_REACTION,
		ids[4]: crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY}, types)

	// The engine's path for media and sends: the adapter built from the
	// stored connection, talking to this server's sandbox.
	sec, err := persistence.LoadConnection(ctx, env.db, env.srv.cfg.Sealer, env.acme.ID, connID)
	require.NoError(t, err)
	adapter, err := env.srv.cfg.Providers.For(sec)
	require.NoError(t, err)
	content, err := adapter.FetchMedia(ctx, channels.MediaRef{ID: image.Media.Id, SHA256: image.Media.Sha256})
	require.NoError(t, err)
	require.Equal(t, photo, content.Data)
	store, err := persistence.NewMediaStore(env.db, mustBlobs(t))
	require.NoError(t, err)
	stored, err := store.StoreInboundMedia(ctx, env.acme.ID, image.Media.Id, content.Data, content.MimeType, image.Media.Sha256, "")
	require.NoError(t, err)
	require.Equal(t, content.SHA256, stored.SHA256)

	sent, err := adapter.Send(ctx, &channels.OutboundMessage{To: "+5511987654321", Type: channels.OutText, ReplyTo: ids[0],
		Text: &channels.OutboundText{Body: "Claro! Já te mando."}})
	require.NoError(t, err)
	checkFor(t, 5*time.Second, func() error {
		var got []crmpb.DeliveryStatus
		for _, d := range env.dispatched() {
			if st := d.Event.GetStatusUpdate(); st != nil && st.ExternalMessageId == sent.ExternalID {
				got = append(got, st.Status)
			}
		}
		if len(got) != 3 {
			return fmt.Errorf("statuses %v", got)
		}
		require.Equal(t, []crmpb.DeliveryStatus{crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
			crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, crmpb.DeliveryStatus_DELIVERY_STATUS_READ}, got)
		return nil
	})
	_, err = adapter.Send(ctx, &channels.OutboundMessage{To: "+5511987650047", Type: channels.OutText,
		Text: &channels.OutboundText{Body: "fora da janela"}})
	require.ErrorIs(t, err, channels.ErrWindowClosed)

	// The outbox shows both, in Meta's request format.
	res := env.do(http.MethodGet, "/sandbox/api/"+connID.String()+"/outbox", agent, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	items := res.Items()
	require.Len(t, items, 2)
	require.Equal(t, sent.ExternalID, items[0]["message_id"])
	request := items[0]["request"].(map[string]any)
	require.Equal(t, "whatsapp", request["messaging_product"])
	require.Equal(t, map[string]any{"message_id": ids[0]}, request["context"])
	require.Equal(t, []any{"sent", "delivered", "read"}, items[0]["statuses"])
	require.EqualValues(t, 131047, items[1]["error"].(map[string]any)["code"])

	templates, err := adapter.ListTemplates(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, templates)
}

func mustBlobs(t *testing.T) persistence.BlobStore {
	t.Helper()
	blobs, err := persistence.NewLocalBlobStore(t.TempDir())
	require.NoError(t, err)
	return blobs
}

func TestSandboxAccess(t *testing.T) {
	t.Parallel()
	env := newSandboxEnv(t)
	connID := env.createSandbox("Sandbox")
	text := map[string]any{"from": "5511987654321", "type": "text", "text": "oi"}
	path := "/api/v1/sandbox/" + connID.String() + "/inbound"

	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodPost, path, "", text).Status)
	globex := env.tenant("globex")
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, path, globex.AdminToken, text).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/sandbox/api/"+connID.String()+"/outbox", globex.AdminToken, nil).Status)

	// A real meta connection is not a sandbox.
	res := env.do(http.MethodPost, "/api/v1/connections", env.acme.AdminToken, metaWhatsAppConnection("real"))
	require.Equal(t, http.StatusCreated, res.Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, "/api/v1/sandbox/"+res.JSON()["id"].(string)+"/inbound",
		env.acme.AdminToken, text).Status)

	// Validation.
	res = env.do(http.MethodPost, path, env.acme.AdminToken, map[string]any{"from": "12", "type": "text", "text": "oi"})
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Contains(t, directoryFieldErrors(t, res), "from")
	res = env.do(http.MethodPost, path, env.acme.AdminToken, map[string]any{"from": "5511987654321", "type": "text", "txt": "oi"})
	require.Equal(t, http.StatusBadRequest, res.Status)

	// A deleted connection is gone for the simulator and the Graph API.
	sec, err := persistence.LoadConnection(context.Background(), env.db, env.srv.cfg.Sealer, env.acme.ID, connID)
	require.NoError(t, err)
	res = env.do(http.MethodPost, path, env.acme.AdminToken, text) // the webhook route now caches the connection
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	payload := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	hook := func() int {
		return env.doHeaders(http.MethodPost, "/webhooks/sandbox/"+connID.String(), "", payload,
			map[string]string{meta.SignatureHeader: meta.Sign(sec.Credentials["app_secret"], payload)}).Status
	}
	require.Equal(t, http.StatusOK, hook())
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/connections/"+connID.String(), env.acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, path, env.acme.AdminToken, text).Status)
	require.Equal(t, http.StatusNotFound, hook(), "a deleted connection's webhooks are refused at once on this node")
	adapter, err := env.srv.cfg.Providers.For(sec)
	require.NoError(t, err)
	_, err = adapter.Send(context.Background(), &channels.OutboundMessage{To: "+5511987654321", Type: channels.OutText,
		Text: &channels.OutboundText{Body: "oi"}})
	var se *channels.SendError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 190, se.Code, "the token of a deleted connection is refused")
}

// TestSandboxPostsToItself: the public URL (the webhook URL the console
// shows) may be a proxy in front of the node; the sandbox still posts its
// signed webhooks to this node's own listener (SelfURL), through the real
// ingest.
func TestSandboxPostsToItself(t *testing.T) {
	t.Parallel()
	var proxyHits atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxyHits.Add(1) }))
	t.Cleanup(proxy.Close)
	env := newSandboxEnv(t, func(c *Config) { c.PublicURL = proxy.URL })
	res := env.do(http.MethodPost, "/api/v1/connections", env.acme.AdminToken, map[string]any{"name": "sb", "channel": "whatsapp",
		"provider": "sandbox"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := res.JSON()["id"].(string)
	require.Equal(t, proxy.URL+"/webhooks/sandbox/"+id, res.JSON()["webhook_url"])
	res = env.do(http.MethodPost, "/api/v1/sandbox/"+id+"/inbound", env.acme.AdminToken,
		map[string]any{"from": "5511987654321", "type": "text", "text": "oi"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	require.EqualValues(t, http.StatusOK, res.JSON()["webhook_status"])
	checkFor(t, 5*time.Second, func() error {
		for _, d := range env.dispatched() {
			if d.Event.GetInboundMessage().GetMessage().GetText() == "oi" {
				return nil
			}
		}
		return fmt.Errorf("%d events dispatched", len(env.dispatched()))
	})
	require.Zero(t, proxyHits.Load())
}
