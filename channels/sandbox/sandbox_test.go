package sandbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels"
	"crm/channels/meta"
	"crm/channels/sandbox"
	crmpb "crm/proto"
)

// memoryStore holds sandbox connections for the tests.
type memoryStore struct {
	mu    sync.Mutex
	conns map[uuid.UUID]sandbox.Connection
}

func (m *memoryStore) SandboxConnection(_ context.Context, id uuid.UUID) (sandbox.Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.conns[id]
	if !ok {
		return c, crm.NotFound("connection")
	}
	return c, nil
}

func (m *memoryStore) SandboxConnectionByToken(_ context.Context, token string) (sandbox.Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		if c.AccessToken == token {
			return c, nil
		}
	}
	return sandbox.Connection{}, crm.NotFound("connection")
}

func (m *memoryStore) put(c sandbox.Connection) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns[c.ID] = c
}

// hookReceiver is our webhook endpoint: it checks every signature with
// meta's verification and parses every body with meta's parser. Its server
// is "this server": the fixture mounts the sandbox's Graph API on mux too.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mux    *http.ServeMux
	mu     sync.Mutex
	events []*crmpb.ChannelEvent
	bodies [][]byte
	paths  []string
	status int
	secret func(path string) string
}

func newHookReceiver(t *testing.T, secret func(path string) string) *hookReceiver {
	h := &hookReceiver{t: t, status: http.StatusOK, secret: secret, mux: http.NewServeMux()}
	h.srv = httptest.NewServer(h.mux)
	h.mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// The adapter our ingest route uses, with this connection's app secret.
		verifier, err := meta.New(meta.Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP,
			Credentials: channels.Credentials{AppSecret: h.secret(r.URL.Path)}})
		if err != nil {
			t.Errorf("building the verifier: %v", err)
			return
		}
		if err := verifier.VerifyWebhook(channels.WebhookRequest{Header: r.Header, Body: body}); err != nil {
			t.Errorf("webhook signature does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		events, err := verifier.Parse(body)
		if err != nil {
			t.Errorf("webhook does not parse: %v", err)
		}
		h.mu.Lock()
		h.events = append(h.events, events...)
		h.bodies = append(h.bodies, body)
		h.paths = append(h.paths, r.URL.Path)
		status := h.status
		h.mu.Unlock()
		w.WriteHeader(status)
	})
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) snapshot() []*crmpb.ChannelEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*crmpb.ChannelEvent(nil), h.events...)
}

func (h *hookReceiver) statuses(messageID string) []crmpb.DeliveryStatus {
	var out []crmpb.DeliveryStatus
	for _, ev := range h.snapshot() {
		if st := ev.GetStatusUpdate(); st != nil && st.ExternalMessageId == messageID {
			out = append(out, st.Status)
		}
	}
	return out
}

// checkFor polls until fn succeeds or the timeout passes.
func checkFor(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type fixture struct {
	store *memoryStore
	sb    *sandbox.Sandbox
	graph *httptest.Server
	hooks *hookReceiver
	conn  sandbox.Connection
}

func newConnection() sandbox.Connection {
	id := crm.NewID()
	return sandbox.Connection{ID: id, TenantID: crm.NewID(), AccessToken: "sbx." + id.String() + ".token",
		AppSecret: "sandbox-app-secret-" + id.String()[30:], PhoneNumberID: "106540352242922", WABAID: "102290129340398",
		DisplayPhoneNumber: "15550001111", StatusDelays: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}}
}

func newFixture(t *testing.T, mutate ...func(*sandbox.Config)) *fixture {
	t.Helper()
	f := &fixture{store: &memoryStore{conns: map[uuid.UUID]sandbox.Connection{}}}
	f.hooks = newHookReceiver(t, func(path string) string {
		id, err := uuid.Parse(strings.TrimPrefix(path, "/webhooks/sandbox/"))
		if err != nil {
			return ""
		}
		c, err := f.store.SandboxConnection(context.Background(), id)
		if err != nil {
			return ""
		}
		return c.AppSecret
	})
	cfg := sandbox.Config{Store: f.store, BaseURL: f.hooks.srv.URL}
	for _, m := range mutate {
		m(&cfg)
	}
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	f.sb = sb
	f.hooks.mux.Handle("/sandbox/graph/", http.StripPrefix("/sandbox/graph", sb.GraphHandler()))
	f.graph = f.hooks.srv
	f.conn = newConnection()
	f.store.put(f.conn)
	return f
}

// provider is the production meta adapter pointed at the sandbox.
func (f *fixture) provider(t *testing.T, conn sandbox.Connection, timeout time.Duration) channels.Provider {
	t.Helper()
	p, err := meta.New(meta.Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{
		AccessToken: conn.AccessToken, AppSecret: conn.AppSecret, PhoneNumberID: conn.PhoneNumberID, WABAID: conn.WABAID},
		Settings: channels.Settings{GraphBaseURL: f.graph.URL + "/sandbox/graph", APIVersion: "v21.0", Timeout: timeout}})
	require.NoError(t, err)
	return p
}

// uploadMedia posts a file to /{phone_number_id}/media as Meta's clients do.
func (f *fixture) uploadMedia(t *testing.T, conn sandbox.Connection, mimeType, filename string, data []byte) string {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	require.NoError(t, w.WriteField("messaging_product", "whatsapp"))
	require.NoError(t, w.WriteField("type", mimeType))
	part, err := w.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, _ = part.Write(data)
	require.NoError(t, w.Close())
	req, _ := http.NewRequest(http.MethodPost, f.graph.URL+"/sandbox/graph/v21.0/"+conn.PhoneNumberID+"/media", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+conn.AccessToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.NotEmpty(t, out.ID)
	return out.ID
}

func TestSandboxSendEveryType(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provider(t, f.conn, 5*time.Second)
	ctx := context.Background()
	imageID := f.uploadMedia(t, f.conn, "image/jpeg", "foto.jpg", []byte("\xff\xd8\xff\xe0 jpeg bytes"))
	index := 1
	cases := []struct {
		name  string
		msg   *channels.OutboundMessage
		check func(t *testing.T, req map[string]any)
	}{
		{"text", &channels.OutboundMessage{Type: channels.OutText, Text: &channels.OutboundText{Body: "Olá!"}},
			func(t *testing.T, req map[string]any) {
				require.Equal(t, "Olá!", req["text"].(map[string]any)["body"])
			}},
		{"image by id", &channels.OutboundMessage{Type: channels.OutImage, Media: &channels.OutboundMedia{ID: imageID, Caption: "veja"}},
			func(t *testing.T, req map[string]any) {
				require.Equal(t, map[string]any{"id": imageID, "caption": "veja"}, req["image"])
			}},
		{"document by link", &channels.OutboundMessage{Type: channels.OutDocument, Media: &channels.OutboundMedia{
			Link: "https://crm.example.com/api/v1/media/x/content?sig=1", Filename: "contrato.pdf"}},
			func(t *testing.T, req map[string]any) {
				doc := req["document"].(map[string]any)
				require.Equal(t, "contrato.pdf", doc["filename"])
				require.Contains(t, doc["link"], "https://crm.example.com/")
			}},
		{"location", &channels.OutboundMessage{Type: channels.OutLocation, Location: &crmpb.Location{Latitude: -23.55, Longitude: -46.63, Name: "Loja"}},
			func(t *testing.T, req map[string]any) {
				require.Equal(t, -23.55, req["location"].(map[string]any)["latitude"])
			}},
		{"contacts", &channels.OutboundMessage{Type: channels.OutContacts, Contacts: []*crmpb.ContactCard{{
			Name: &crmpb.ContactName{FormattedName: "Maria Silva"}, Phones: []*crmpb.ContactPhone{{Phone: "+5511999990000", Type: "CELL"}}}}},
			func(t *testing.T, req map[string]any) {
				c := req["contacts"].([]any)[0].(map[string]any)
				require.Equal(t, "Maria Silva", c["name"].(map[string]any)["formatted_name"])
			}},
		{"reaction", &channels.OutboundMessage{Type: channels.OutReaction, Reaction: &channels.OutboundReaction{MessageID: "wamid.abc", Emoji: "👍"}},
			func(t *testing.T, req map[string]any) {
				require.Equal(t, map[string]any{"message_id": "wamid.abc", "emoji": "👍"}, req["reaction"])
			}},
		{"reply", &channels.OutboundMessage{Type: channels.OutText, ReplyTo: "wamid.original", Text: &channels.OutboundText{Body: "respondendo"}},
			func(t *testing.T, req map[string]any) {
				require.Equal(t, map[string]any{"message_id": "wamid.original"}, req["context"])
			}},
		{"interactive buttons", &channels.OutboundMessage{Type: channels.OutInteractive, Interactive: &channels.Interactive{
			Kind: channels.InteractiveButtons, Body: "Confirma?", Buttons: []channels.ReplyButton{{ID: "sim", Title: "Sim"}, {ID: "nao", Title: "Não"}}}},
			func(t *testing.T, req map[string]any) {
				in := req["interactive"].(map[string]any)
				require.Equal(t, "button", in["type"])
				require.Len(t, in["action"].(map[string]any)["buttons"], 2)
			}},
		{"interactive list", &channels.OutboundMessage{Type: channels.OutInteractive, Interactive: &channels.Interactive{
			Kind: channels.InteractiveList, Body: "Escolha", ListButton: "Opções", Sections: []channels.ListSection{{Title: "Horários",
				Rows: []channels.ListRow{{ID: "9h", Title: "9h"}, {ID: "10h", Title: "10h", Description: "manhã"}}}}}},
			func(t *testing.T, req map[string]any) {
				in := req["interactive"].(map[string]any)
				require.Equal(t, "list", in["type"])
				require.Equal(t, "Opções", in["action"].(map[string]any)["button"])
			}},
		{"template", &channels.OutboundMessage{Type: channels.OutTemplate, Template: &channels.TemplateMessage{Name: "lembrete_consulta",
			LanguageCode: "pt_BR", Components: []channels.TemplateComponent{{Type: "body", Parameters: []channels.TemplateParameter{
				{Type: "text", Text: "Maria"}, {Type: "text", Text: "12/03 às 14h"}}}}}},
			func(t *testing.T, req map[string]any) {
				tpl := req["template"].(map[string]any)
				require.Equal(t, "lembrete_consulta", tpl["name"])
				require.Equal(t, map[string]any{"code": "pt_BR"}, tpl["language"])
			}},
		{"audio by id", &channels.OutboundMessage{Type: channels.OutAudio, Media: &channels.OutboundMedia{ID: imageID}},
			func(t *testing.T, req map[string]any) { require.Equal(t, imageID, req["audio"].(map[string]any)["id"]) }},
		{"video and sticker by link", &channels.OutboundMessage{Type: channels.OutVideo, Media: &channels.OutboundMedia{Link: "https://x.example/v.mp4"}},
			func(t *testing.T, req map[string]any) {
				require.Equal(t, "https://x.example/v.mp4", req["video"].(map[string]any)["link"])
			}},
	}
	ids := map[string]string{}
	for _, tc := range cases {
		index++
		tc.msg.To = fmt.Sprintf("+55119876543%02d", index)
		res, err := p.Send(ctx, tc.msg)
		require.NoError(t, err, tc.name)
		require.True(t, strings.HasPrefix(res.ExternalID, "wamid."), tc.name)
		require.Equal(t, strings.TrimPrefix(tc.msg.To, "+"), res.RecipientID)
		ids[tc.name] = res.ExternalID

		outbox := f.sb.Outbox(f.conn.ID)
		last := outbox[len(outbox)-1]
		require.Equal(t, res.ExternalID, last.MessageID, tc.name)
		require.Nil(t, last.Error)
		var req map[string]any
		require.NoError(t, json.Unmarshal(last.Request, &req))
		require.Equal(t, "whatsapp", req["messaging_product"], tc.name)
		require.Equal(t, "individual", req["recipient_type"], tc.name)
		require.Equal(t, tc.msg.To, req["to"], tc.name)
		require.Equal(t, string(tc.msg.Type), req["type"], tc.name)
		tc.check(t, req)
	}

	// Every accepted send comes back sent, delivered and read, in that
	// order, by signed webhooks meta verifies and parses.
	want := []crmpb.DeliveryStatus{crmpb.DeliveryStatus_DELIVERY_STATUS_SENT, crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
		crmpb.DeliveryStatus_DELIVERY_STATUS_READ}
	for name, id := range ids {
		checkFor(t, 5*time.Second, func() error {
			if got := f.hooks.statuses(id); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("%s: statuses %v", name, got)
			}
			return nil
		})
	}
	for _, ev := range f.hooks.snapshot() {
		require.Equal(t, f.conn.PhoneNumberID, ev.AccountId)
		require.Equal(t, f.conn.WABAID, ev.BusinessAccountId)
	}
	for _, path := range f.hooks.paths {
		require.Equal(t, "/webhooks/sandbox/"+f.conn.ID.String(), path)
	}
	checkFor(t, time.Second, func() error {
		for _, e := range f.sb.Outbox(f.conn.ID) {
			if len(e.Statuses) != 3 {
				return fmt.Errorf("%s has statuses %v", e.MessageID, e.Statuses)
			}
		}
		return nil
	})
}

func TestSandboxFailureInjection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provider(t, f.conn, 300*time.Millisecond)
	ctx := context.Background()
	text := func(to string) *channels.OutboundMessage {
		return &channels.OutboundMessage{To: to, Type: channels.OutText, Text: &channels.OutboundText{Body: "oi"}}
	}
	var se *channels.SendError

	_, err := p.Send(ctx, text("+5511987650047"))
	require.ErrorIs(t, err, channels.ErrWindowClosed)
	require.ErrorAs(t, err, &se)
	require.Equal(t, 131047, se.Code)
	// A template still goes through a closed window.
	_, err = p.Send(ctx, &channels.OutboundMessage{To: "+5511987650047", Type: channels.OutTemplate,
		Template: &channels.TemplateMessage{Name: "boas_vindas", LanguageCode: "pt_BR"}})
	require.NoError(t, err)

	_, err = p.Send(ctx, text("+5511987650429"))
	require.ErrorIs(t, err, channels.ErrSendRateLimited)
	wait, retry := channels.RetryAfter(err)
	require.True(t, retry)
	require.GreaterOrEqual(t, wait, 3*time.Second, "Retry-After is honoured")

	_, err = p.Send(ctx, text("+5511987650026"))
	require.ErrorIs(t, err, channels.ErrUnreachable)
	require.False(t, channels.IsRetryable(err))

	_, err = p.Send(ctx, text("+5511987650500"))
	require.ErrorIs(t, err, channels.ErrSendRetryable)

	start := time.Now()
	_, err = p.Send(ctx, text("+5511987650999"))
	require.Error(t, err)
	require.Equal(t, channels.Retryable, channels.KindOf(err), "a timeout is retried: %v", err)
	require.Less(t, time.Since(start), 5*time.Second)

	// Template errors are permanent.
	_, err = p.Send(ctx, &channels.OutboundMessage{To: "+5511987651111", Type: channels.OutTemplate,
		Template: &channels.TemplateMessage{Name: "nao_existe", LanguageCode: "pt_BR"}})
	require.ErrorAs(t, err, &se)
	require.Equal(t, 132001, se.Code)
	require.Equal(t, channels.Permanent, se.Kind)
	_, err = p.Send(ctx, &channels.OutboundMessage{To: "+5511987651111", Type: channels.OutTemplate,
		Template: &channels.TemplateMessage{Name: "lembrete_consulta", LanguageCode: "pt_BR"}})
	require.ErrorAs(t, err, &se)
	require.Equal(t, 132000, se.Code)

	// Accepted, then failed by webhook.
	res, err := p.Send(ctx, text("+5511987650031"))
	require.NoError(t, err)
	checkFor(t, 5*time.Second, func() error {
		for _, ev := range f.hooks.snapshot() {
			if st := ev.GetStatusUpdate(); st != nil && st.ExternalMessageId == res.ExternalID &&
				st.Status == crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED {
				if len(st.Errors) != 1 || st.Errors[0].Code != 131026 {
					return fmt.Errorf("failed status without its error: %v", st.Errors)
				}
				return nil
			}
		}
		return errors.New("no failed status yet")
	})

	// A per-connection setting fails every send.
	closed := newConnection()
	closed.Failure = "131047"
	f.store.put(closed)
	_, err = f.provider(t, closed, time.Second).Send(ctx, text("+5511987651234"))
	require.ErrorIs(t, err, channels.ErrWindowClosed)

	// Wrong token, wrong number, bad request: Meta's permanent errors.
	stranger := closed
	stranger.AccessToken = "sbx.not-a-token"
	_, err = f.provider(t, stranger, time.Second).Send(ctx, text("+5511987651234"))
	require.ErrorAs(t, err, &se)
	require.Equal(t, 190, se.Code)
	require.Equal(t, http.StatusUnauthorized, se.HTTPStatus)
	other := f.conn
	other.PhoneNumberID = "999"
	_, err = f.provider(t, other, time.Second).Send(ctx, text("+5511987651234"))
	require.ErrorAs(t, err, &se)
	require.Equal(t, channels.Permanent, se.Kind)
	_, err = p.Send(ctx, &channels.OutboundMessage{To: "+5511987651234", Type: channels.OutImage,
		Media: &channels.OutboundMedia{ID: "123"}})
	require.ErrorAs(t, err, &se)
	require.Equal(t, 100, se.Code)

	// Rejected sends are in the outbox with Meta's error.
	var codes []int
	for _, e := range f.sb.Outbox(f.conn.ID) {
		if e.Error != nil {
			codes = append(codes, e.Error.Code)
		}
	}
	require.Subset(t, codes, []int{131047, 130429, 131026, 131000, 132001, 132000, 100})
}

func TestSandboxMediaAndTemplates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provider(t, f.conn, 5*time.Second)
	ctx := context.Background()
	data := []byte("%PDF-1.7 a contract")
	id := f.uploadMedia(t, f.conn, "application/pdf", "contrato.pdf", data)
	content, err := p.FetchMedia(ctx, channels.MediaRef{ID: id})
	require.NoError(t, err)
	require.Equal(t, data, content.Data)
	require.Equal(t, "application/pdf", content.MimeType)
	require.Equal(t, "contrato.pdf", content.Filename)

	// The download URL needs the connection's bearer token.
	lookup, _ := http.NewRequest(http.MethodGet, f.graph.URL+"/sandbox/graph/v21.0/"+id, nil)
	lookup.Header.Set("Authorization", "Bearer "+f.conn.AccessToken)
	res, err := http.DefaultClient.Do(lookup)
	require.NoError(t, err)
	var info map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&info))
	res.Body.Close()
	require.EqualValues(t, len(data), info["file_size"])
	res, err = http.Get(info["url"].(string))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	// Another connection cannot see it.
	other := newConnection()
	f.store.put(other)
	_, err = f.provider(t, other, time.Second).FetchMedia(ctx, channels.MediaRef{ID: id})
	require.Error(t, err)

	list, err := p.ListTemplates(ctx)
	require.NoError(t, err)
	names := map[string]string{}
	for _, tpl := range list {
		names[tpl.Name] = tpl.Status
	}
	require.Equal(t, "APPROVED", names["boas_vindas"])
	require.Equal(t, "APPROVED", names["lembrete_consulta"])
	for _, tpl := range list {
		if tpl.Name == "lembrete_consulta" {
			require.Contains(t, string(tpl.Components), "{{1}}")
		}
	}
}

func TestSandboxInboundEveryType(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provider(t, f.conn, 5*time.Second)
	ctx := context.Background()
	lat, lng := -23.5505, -46.6333
	jpeg := []byte("\xff\xd8\xff\xe0 customer photo")
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	cases := []struct {
		name  string
		in    sandbox.InboundRequest
		check func(t *testing.T, m *crmpb.Message)
	}{
		{"text", sandbox.InboundRequest{Type: "text", Text: "Oi, tudo bem?"}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_TEXT, m.Type)
			require.Equal(t, "Oi, tudo bem?", m.Text)
		}},
		{"image", sandbox.InboundRequest{Type: "image", Media: &sandbox.InboundMedia{MimeType: "image/jpeg", Caption: "olha", DataBase64: b64(jpeg)}},
			func(t *testing.T, m *crmpb.Message) {
				require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_IMAGE, m.Type)
				require.Equal(t, "olha", m.Media.Caption)
				content, err := p.FetchMedia(ctx, channels.MediaRef{ID: m.Media.Id, SHA256: m.Media.Sha256, MimeType: m.Media.MimeType})
				require.NoError(t, err)
				require.Equal(t, jpeg, content.Data)
				_, err = crm.CheckSHA256(jpeg, m.Media.Sha256)
				require.NoError(t, err, "the webhook's checksum matches the bytes")
			}},
		{"voice note", sandbox.InboundRequest{Type: "audio", Media: &sandbox.InboundMedia{MimeType: "audio/ogg", Voice: true, DataBase64: b64([]byte("OggS voice"))}},
			func(t *testing.T, m *crmpb.Message) {
				require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_AUDIO, m.Type)
				require.True(t, m.Media.Voice)
				require.Equal(t, "audio/ogg; codecs=opus", m.Media.MimeType)
			}},
		{"video", sandbox.InboundRequest{Type: "video", Media: &sandbox.InboundMedia{MimeType: "video/mp4", DataBase64: b64([]byte("....ftypmp42"))}},
			func(t *testing.T, m *crmpb.Message) { require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_VIDEO, m.Type) }},
		{"document", sandbox.InboundRequest{Type: "document", Media: &sandbox.InboundMedia{MimeType: "application/pdf", Filename: "rg.pdf", DataBase64: b64([]byte("%PDF-1.4"))}},
			func(t *testing.T, m *crmpb.Message) {
				require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_DOCUMENT, m.Type)
				require.Equal(t, "rg.pdf", m.Media.Filename)
			}},
		{"sticker", sandbox.InboundRequest{Type: "sticker", Media: &sandbox.InboundMedia{MimeType: "image/webp", Animated: true, DataBase64: b64([]byte("RIFF....WEBPVP8 "))}},
			func(t *testing.T, m *crmpb.Message) {
				require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_STICKER, m.Type)
				require.True(t, m.Media.Animated)
			}},
		{"location", sandbox.InboundRequest{Type: "location", Location: &sandbox.InboundPlace{Latitude: &lat, Longitude: &lng, Name: "Praça da Sé"}},
			func(t *testing.T, m *crmpb.Message) {
				require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_LOCATION, m.Type)
				require.InDelta(t, lat, m.Location.Latitude, 1e-9)
				require.Equal(t, "Praça da Sé", m.Location.Name)
			}},
		{"contacts", sandbox.InboundRequest{Type: "contacts", Contacts: json.RawMessage(`[{"name":{"formatted_name":"João Souza","first_name":"João"},"phones":[{"phone":"+55 11 91234-5678","wa_id":"5511912345678","type":"CELL"}]}]`)},
			func(t *testing.T, m *crmpb.Message) {
				require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_CONTACTS, m.Type)
				require.Equal(t, "João Souza", m.Contacts[0].Name.FormattedName)
				require.Equal(t, "5511912345678", m.Contacts[0].Phones[0].WaId)
			}},
		{"reaction", sandbox.InboundRequest{Type: "reaction", Reaction: &sandbox.InboundReaction{MessageID: "wamid.ours", Emoji: "❤️"}}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_REACTION, m.Type)
			require.Equal(t, "wamid.ours", m.Reaction.TargetExternalId)
			require.Equal(t, "❤️", m.Reaction.Emoji)
			require.False(t, m.Reaction.Removed)
		}},
		{"reaction removed", sandbox.InboundRequest{Type: "reaction", Reaction: &sandbox.InboundReaction{MessageID: "wamid.ours"}}, func(t *testing.T, m *crmpb.Message) {
			require.True(t, m.Reaction.Removed)
		}},
		{"button reply", sandbox.InboundRequest{Type: "interactive", Interactive: &sandbox.InboundInteractive{Type: "button_reply", ID: "sim", Title: "Sim"}, Context: &sandbox.InboundContext{MessageID: "wamid.buttons"}}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY, m.Type)
			require.Equal(t, "sim", m.ButtonReply.Id)
			require.Equal(t, "wamid.buttons", m.ReplyTo.ExternalId)
		}},
		{"list reply", sandbox.InboundRequest{Type: "interactive", Interactive: &sandbox.InboundInteractive{Type: "list_reply", ID: "10h", Title: "10h", Description: "manhã"}}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY, m.Type)
			require.Equal(t, "manhã", m.ListReply.Description)
		}},
		{"template button", sandbox.InboundRequest{Type: "button", Button: &sandbox.InboundButton{Payload: "CONFIRMAR", Text: "SIM"}}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON, m.Type)
			require.Equal(t, "CONFIRMAR", m.TemplateButton.Payload)
		}},
		{"reply", sandbox.InboundRequest{Type: "text", Text: "isso", Context: &sandbox.InboundContext{MessageID: "wamid.earlier"}}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, "wamid.earlier", m.ReplyTo.ExternalId)
			require.Equal(t, f.conn.DisplayPhoneNumber, m.ReplyTo.From)
		}},
		{"forwarded with referral", sandbox.InboundRequest{Type: "text", Text: "vi o anúncio", Context: &sandbox.InboundContext{Forwarded: true}, Referral: json.RawMessage(`{"source_url":"https://fb.me/ad","source_type":"ad","source_id":"123","headline":"Promo","ctwa_clid":"abc"}`)},
			func(t *testing.T, m *crmpb.Message) {
				require.True(t, m.Forwarded)
				require.Equal(t, "123", m.Referral.SourceId)
				require.Equal(t, "abc", m.Referral.CtwaClid)
			}},
		{"unsupported", sandbox.InboundRequest{Type: "unsupported"}, func(t *testing.T, m *crmpb.Message) {
			require.Equal(t, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED, m.Type)
			require.EqualValues(t, 131051, m.Errors[0].Code)
		}},
	}
	for i, tc := range cases {
		tc.in.From = fmt.Sprintf("+55 11 98888-%04d", i)
		tc.in.Name = "Cliente " + tc.name
		before := len(f.hooks.snapshot())
		res, err := f.sb.Inbound(ctx, f.conn, tc.in)
		require.NoError(t, err, tc.name)
		require.Equal(t, http.StatusOK, res.WebhookStatus)
		events := f.hooks.snapshot()[before:]
		require.Len(t, events, 1, tc.name)
		ev := events[0]
		in := ev.GetInboundMessage()
		require.NotNil(t, in, tc.name)
		require.Equal(t, res.MessageID, in.Message.ExternalId, tc.name)
		require.Equal(t, res.MessageID, ev.DedupeKey)
		require.Equal(t, f.conn.PhoneNumberID, ev.AccountId)
		require.Equal(t, fmt.Sprintf("551198888%04d", i), in.Contact.WaId, tc.name)
		require.Equal(t, "Cliente "+tc.name, in.Contact.Name)
		tc.check(t, in.Message)
	}

	// Meta redelivering: the same id again.
	res, err := f.sb.Inbound(ctx, f.conn, sandbox.InboundRequest{From: "5511988880000", Type: "text", Text: "de novo", ID: "wamid.repeat"})
	require.NoError(t, err)
	require.Equal(t, "wamid.repeat", res.MessageID)

	// Invalid input is refused before anything is posted.
	before := len(f.hooks.snapshot())
	tooFar := 123.0
	bad := []sandbox.InboundRequest{
		{From: "12", Type: "text", Text: "x"},
		{From: "5511988880000", Type: "text"},
		{From: "5511988880000", Type: "gif"},
		{From: "5511988880000", Type: "image", Media: &sandbox.InboundMedia{MimeType: "image/jpeg"}},
		{From: "5511988880000", Type: "image", Media: &sandbox.InboundMedia{DataBase64: "@@@"}},
		{From: "5511988880000", Type: "sticker", Media: &sandbox.InboundMedia{MimeType: "image/png", DataBase64: b64(jpeg)}},
		{From: "5511988880000", Type: "location", Location: &sandbox.InboundPlace{Latitude: &tooFar, Longitude: &lng}},
		{From: "5511988880000", Type: "contacts", Contacts: json.RawMessage(`[{"phones":[]}]`)},
		{From: "5511988880000", Type: "interactive"},
	}
	for _, in := range bad {
		_, err := f.sb.Inbound(ctx, f.conn, in)
		require.ErrorIs(t, err, crm.ErrInvalid, "%+v", in)
	}
	require.Len(t, f.hooks.snapshot(), before)

	// A webhook endpoint that refuses is reported.
	f.hooks.mu.Lock()
	f.hooks.status = http.StatusNotFound
	f.hooks.mu.Unlock()
	res, err = f.sb.Inbound(ctx, f.conn, sandbox.InboundRequest{From: "5511988880000", Type: "text", Text: "x"})
	require.ErrorIs(t, err, crm.ErrUnprocessable)
	require.Equal(t, http.StatusNotFound, res.WebhookStatus)
}

func TestSandboxInboundMediaByURL(t *testing.T) {
	t.Parallel()
	photo := []byte("\x89PNG\r\n\x1a\n remote photo")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(photo)
	}))
	t.Cleanup(files.Close)
	req := sandbox.InboundRequest{From: "5511988881234", Type: "image", Media: &sandbox.InboundMedia{URL: files.URL + "/p.png"}}

	// By default private and loopback addresses are not fetched (SSRF).
	strict := newFixture(t)
	_, err := strict.sb.Inbound(context.Background(), strict.conn, req)
	require.ErrorIs(t, err, crm.ErrInvalid)
	var coded *crm.Error
	require.ErrorAs(t, err, &coded)
	require.Contains(t, coded.Details["fields"], "media.url")

	open := newFixture(t, func(c *sandbox.Config) { c.AllowPrivateURLs = true })
	res, err := open.sb.Inbound(context.Background(), open.conn, req)
	require.NoError(t, err)
	require.NotEmpty(t, res.MediaID)
	m := open.hooks.snapshot()[0].GetInboundMessage().Message
	require.Equal(t, "image/png", m.Media.MimeType)
	content, err := open.provider(t, open.conn, time.Second).FetchMedia(context.Background(),
		channels.MediaRef{ID: m.Media.Id, SHA256: m.Media.Sha256})
	require.NoError(t, err)
	require.Equal(t, photo, content.Data)
}

// TestSandboxIgnoresHostHeader: the sandbox needs its own base URL, and
// a Graph call naming another Host (anyone with a sandbox token can make
// one) still gets media URLs under that base and status webhooks posted
// there, never to the Host.
func TestSandboxIgnoresHostHeader(t *testing.T) {
	t.Parallel()
	_, err := sandbox.New(sandbox.Config{Store: &memoryStore{}})
	require.Error(t, err, "no base URL: the sandbox would have to guess one from requests")

	var trapHits atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { trapHits.Add(1) }))
	t.Cleanup(trap.Close)
	hostile := strings.TrimPrefix(trap.URL, "http://")
	f := newFixture(t)
	graphCall := func(method, path string, body []byte) map[string]any {
		req, _ := http.NewRequest(method, f.graph.URL+"/sandbox/graph/v21.0/"+path, bytes.NewReader(body))
		req.Host = hostile
		req.Header.Set("Authorization", "Bearer "+f.conn.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		var out map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		return out
	}
	id := f.uploadMedia(t, f.conn, "image/png", "a.png", []byte("\x89PNG\r\n\x1a\n"))
	require.True(t, strings.HasPrefix(graphCall(http.MethodGet, id, nil)["url"].(string), f.hooks.srv.URL+"/sandbox/graph/"))
	sent := graphCall(http.MethodPost, f.conn.PhoneNumberID+"/messages",
		[]byte(`{"messaging_product":"whatsapp","to":"5511987650000","type":"text","text":{"body":"oi"}}`))
	wamid := sent["messages"].([]any)[0].(map[string]any)["id"].(string)
	checkFor(t, 5*time.Second, func() error {
		if got := f.hooks.statuses(wamid); len(got) < 3 {
			return fmt.Errorf("statuses so far: %v", got)
		}
		return nil
	})
	require.Zero(t, trapHits.Load())
}
