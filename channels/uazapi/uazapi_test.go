package uazapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"crm"
	"crm/channels"
	crmpb "crm/proto"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	fixtureToken = "00000000-0000-0000-0000-000000000000"
	maria        = "5511987654321"
)

var received = time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)

func sharedFixtures(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..", "..", "shared", "fixtures")
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedFixtures(t), "uazapi", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, body []byte) []*crmpb.ChannelEvent {
	t.Helper()
	events, err := ParseWebhook(body, received)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	for _, ev := range events {
		if strings.Contains(protojson.Format(ev), fixtureToken) {
			t.Fatalf("the instance token leaked into an event: %v", ev)
		}
	}
	return events
}

func parseOne(t *testing.T, body []byte) *crmpb.ChannelEvent {
	t.Helper()
	events := parse(t, body)
	if len(events) != 1 {
		t.Fatalf("want 1 event, got %d", len(events))
	}
	return events[0]
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func protoEq(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s =\n  %v\nwant\n  %v", what, got, want)
	}
}

func inboundMsg(t *testing.T, name string) (*crmpb.ContactProfile, *crmpb.Message) {
	t.Helper()
	ev := parseOne(t, testdata(t, name))
	in := ev.GetInboundMessage()
	if in == nil {
		t.Fatalf("%s: want inbound, got %T", name, ev.GetEvent())
	}
	eq(t, name+" dedupe", ev.DedupeKey, in.Message.ExternalId)
	return in.Contact, in.Message
}

func TestFixtureTextReceived(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, fixture(t, "messages_text_received.json"))
	eq(t, "provider", ev.Provider, ProviderName)
	eq(t, "account", ev.AccountId, "crm-vendas")
	eq(t, "owner", ev.BusinessAccountId, "5511940001000")
	eq(t, "dedupe", ev.DedupeKey, "3EB0A1B2C3D4E5F60718")
	eq(t, "timestamp (ms kept)", ev.TimestampMs, int64(1767000000000))
	in := ev.GetInboundMessage()
	protoEq(t, "contact", in.GetContact(), &crmpb.ContactProfile{ExternalId: maria, WaId: maria, Phone: maria,
		Name: "Maria Souza", Lid: "123456789012345@lid"})
	protoEq(t, "message", in.GetMessage(), &crmpb.Message{ExternalId: "3EB0A1B2C3D4E5F60718",
		Type: crmpb.MessageType_MESSAGE_TYPE_TEXT, ProviderType: "ExtendedTextMessage",
		From: "5511987654321@s.whatsapp.net", TimestampMs: 1767000000000, Text: "Olá, quero um orçamento"})
}

func TestFixtureConnection(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, fixture(t, "connection_connected.json"))
	protoEq(t, "state", ev.GetConnectionState(), &crmpb.ConnectionState{
		Status: crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED, ProviderStatus: "connected", Owner: "5511940001000"})
	eq(t, "timestamp = received", ev.TimestampMs, received.UnixMilli())
	later, _ := ParseWebhook(fixture(t, "connection_connected.json"), received.Add(time.Hour))
	if later[0].DedupeKey == ev.DedupeKey {
		t.Error("a later identical connection event must not be deduplicated away")
	}

	ev = parseOne(t, testdata(t, "connection_qrcode.json"))
	eq(t, "qr status", ev.GetConnectionState().GetStatus(), crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING)
	eq(t, "qr code", ev.GetConnectionState().GetQrCode(), "data:image/png;base64,iVBORw0KGgo=")
	ev = parseOne(t, testdata(t, "connection_disconnected.json"))
	eq(t, "disconnected", ev.GetConnectionState().GetStatus(), crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED)
	eq(t, "reason", ev.GetConnectionState().GetReason(), "logged out")
}

func TestEchoes(t *testing.T) {
	t.Parallel()
	// Sent from the phone: an outbound echo for the customer's chat.
	ev := parseOne(t, testdata(t, "messages_from_me.json"))
	echo := ev.GetOutboundEcho()
	if echo == nil {
		t.Fatalf("fromMe: want OutboundEcho, got %T", ev.GetEvent())
	}
	eq(t, "echo contact is the chat", echo.Contact.ExternalId, maria)
	eq(t, "echo text", echo.Message.Text, "Respondi pelo celular")
	eq(t, "echo id", ev.DedupeKey, "3EB0FROMPHONE")
	// Sent by our API: we have it already; nothing.
	if events := parse(t, testdata(t, "messages_sent_by_api.json")); len(events) != 0 {
		t.Errorf("wasSentByApi must be skipped, got %v", events)
	}
}

func TestMessageTypes(t *testing.T) {
	t.Parallel()
	_, m := inboundMsg(t, "messages_image.json")
	eq(t, "image type", m.Type, crmpb.MessageType_MESSAGE_TYPE_IMAGE)
	protoEq(t, "image media", m.Media, &crmpb.Media{Id: "3EB0IMAGE", Url: "https://mmg.whatsapp.net/x.enc", MimeType: "image/jpeg",
		Caption: "Foto do produto", Sha256: "q1W0m7oJ2b3Y6cXyV0mYl0x3pJjz9XQf0Qk2sT8vA1U=", FileSize: 183422})

	_, m = inboundMsg(t, "messages_ptt.json")
	eq(t, "ptt type", m.Type, crmpb.MessageType_MESSAGE_TYPE_AUDIO)
	eq(t, "ptt voice", m.Media.GetVoice(), true)

	_, m = inboundMsg(t, "messages_document.json")
	eq(t, "document type", m.Type, crmpb.MessageType_MESSAGE_TYPE_DOCUMENT)
	eq(t, "document filename", m.Media.GetFilename(), "comprovante.pdf")
	eq(t, "document caption", m.Media.GetCaption(), "Segue o comprovante")

	_, m = inboundMsg(t, "messages_video.json")
	eq(t, "video", m.Type, crmpb.MessageType_MESSAGE_TYPE_VIDEO)

	_, m = inboundMsg(t, "messages_sticker.json")
	eq(t, "sticker", m.Type, crmpb.MessageType_MESSAGE_TYPE_STICKER)
	eq(t, "animated", m.Media.GetAnimated(), true)

	_, m = inboundMsg(t, "messages_location.json")
	protoEq(t, "location", m.Location, &crmpb.Location{Latitude: -23.561684, Longitude: -46.655981, Name: "MASP", Address: "Av. Paulista, 1578"})

	_, m = inboundMsg(t, "messages_contact.json")
	eq(t, "contacts type", m.Type, crmpb.MessageType_MESSAGE_TYPE_CONTACTS)
	if len(m.Contacts) != 1 {
		t.Fatalf("contacts: %v", m.Contacts)
	}
	c := m.Contacts[0]
	eq(t, "vcard name", c.GetName().GetFormattedName(), "João Silva")
	eq(t, "vcard waid", c.GetPhones()[0].GetWaId(), "5511912345678")
	eq(t, "vcard email", c.GetEmails()[0].GetEmail(), "joao@example.com")
	eq(t, "vcard org", c.GetOrgs()[0].GetCompany(), "Loja Exemplo")

	_, m = inboundMsg(t, "messages_reaction.json")
	protoEq(t, "reaction", m.Reaction, &crmpb.Reaction{TargetExternalId: "3EB0OURS", Emoji: "👍"})

	_, m = inboundMsg(t, "messages_button.json")
	protoEq(t, "button", m.ButtonReply, &crmpb.ButtonReply{Id: "confirmar-pedido", Title: "Confirmar"})

	_, m = inboundMsg(t, "messages_list.json")
	protoEq(t, "list", m.ListReply, &crmpb.ListReply{Id: "sp", Title: "São Paulo", Description: "Capital"})

	_, m = inboundMsg(t, "messages_reply.json")
	eq(t, "reply", m.ReplyTo.GetExternalId(), "3EB0ORIGINAL")

	_, m = inboundMsg(t, "messages_poll.json")
	eq(t, "poll unsupported", m.Type, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED)
	eq(t, "poll provider type", m.ProviderType, "PollCreationMessageV3")

	contact, m := inboundMsg(t, "messages_group.json")
	protoEq(t, "group author", contact, &crmpb.ContactProfile{ExternalId: "5521999990000", WaId: "5521999990000",
		Phone: "5521999990000", Name: "José", Lid: "999888777666555@lid", GroupId: "120363000000000000@g.us"})
	eq(t, "group text", m.Text, "oi grupo")
}

func TestMessagesUpdate(t *testing.T) {
	t.Parallel()
	events := parse(t, testdata(t, "update_receipt_event.json"))
	if len(events) != 2 {
		t.Fatalf("receipt: want 2 statuses, got %d", len(events))
	}
	for i, id := range []string{"3EB0OUT1", "3EB0OUT2"} {
		st := events[i].GetStatusUpdate()
		eq(t, "id", st.GetExternalMessageId(), id)
		eq(t, "status", st.GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_READ)
		eq(t, "dedupe", events[i].DedupeKey, id+":read")
		eq(t, "recipient", st.GetRecipientId(), maria)
		eq(t, "time", st.GetTimestampMs(), time.Date(2026, 1, 1, 9, 21, 0, 0, time.UTC).UnixMilli())
	}
	ev := parseOne(t, testdata(t, "update_message_status.json"))
	eq(t, "delivered", ev.GetStatusUpdate().GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED)
	eq(t, "id", ev.GetStatusUpdate().GetExternalMessageId(), "3EB0OUT3")
	for _, name := range []string{"update_unrecognised.json", "update_inbound_read.json", "presence_ignored.json"} {
		if events := parse(t, testdata(t, name)); len(events) != 0 {
			t.Errorf("%s: want no events, got %v", name, events)
		}
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "nope", "[]", `{"token":"x"}`} {
		if _, err := ParseWebhook([]byte(body), received); !errors.Is(err, channels.ErrInvalidPayload) {
			t.Errorf("%q: want ErrInvalidPayload, got %v", body, err)
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	body := fixture(t, "messages_text_received.json")
	ok := channels.WebhookRequest{PathSecret: "url-secret", Body: body}
	if err := VerifyWebhook("url-secret", fixtureToken, ok); err != nil {
		t.Fatalf("good webhook: %v", err)
	}
	bad := []struct {
		name          string
		secret, token string
		req           channels.WebhookRequest
	}{
		{"wrong url secret", "url-secret", fixtureToken, channels.WebhookRequest{PathSecret: "guess", Body: body}},
		{"no url secret", "url-secret", fixtureToken, channels.WebhookRequest{Body: body}},
		{"connection without secret", "", fixtureToken, channels.WebhookRequest{Body: body}},
		{"wrong token", "url-secret", "other-token", ok},
		{"token missing", "url-secret", fixtureToken, channels.WebhookRequest{PathSecret: "url-secret", Body: []byte(`{"EventType":"messages"}`)}},
	}
	for _, tc := range bad {
		err := VerifyWebhook(tc.secret, tc.token, tc.req)
		if !errors.Is(err, channels.ErrInvalidSignature) || !errors.Is(err, crm.ErrUnauthenticated) {
			t.Errorf("%s: want ErrInvalidSignature, got %v", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), fixtureToken) {
			t.Errorf("%s: error reveals the token", tc.name)
		}
	}
	err := VerifyWebhook("url-secret", fixtureToken, channels.WebhookRequest{PathSecret: "url-secret", Body: []byte("{trunc")})
	if !errors.Is(err, channels.ErrInvalidPayload) {
		t.Errorf("truncated body: want ErrInvalidPayload, got %v", err)
	}
}

// gateway is a fake uazapi instance recording requests.
type gateway struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]byte
	answers  map[string]string
}

func newGateway(t *testing.T) (*gateway, *Provider) {
	t.Helper()
	g := &gateway{requests: map[string][]byte{}, answers: map[string]string{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("token") != fixtureToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid token"}`))
			return
		}
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.requests[r.Method+" "+r.URL.Path] = b
		answer, ok := g.answers[r.Method+" "+r.URL.Path]
		g.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(g.Close)
	p, err := New(Config{Credentials: channels.Credentials{BaseURL: g.URL, InstanceToken: fixtureToken, WebhookSecret: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	return g, p
}

func (g *gateway) body(t *testing.T, key string) []byte {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.requests[key]
	if !ok {
		t.Fatalf("no request %s", key)
	}
	return b
}

func jsonEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

func TestSendRequests(t *testing.T) {
	t.Parallel()
	g, p := newGateway(t)
	g.answers["POST /send/text"] = `{"id":"5511940001000:3EB0SENT1","messageid":"3EB0SENT1","fromMe":true}`
	g.answers["POST /send/media"] = `{"id":"5511940001000:3EB0SENT2"}`

	res, err := p.Send(context.Background(), &channels.OutboundMessage{To: "+55 11 98765-4321", Type: channels.OutText,
		Text: &channels.OutboundText{Body: "Olá! Como posso ajudar?"}, ReplyTo: "3EB0A1B2C3D4E5F60718",
		TrackSource: "crm", TrackID: "msg_42"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "text id", res.ExternalID, "3EB0SENT1")
	jsonEqual(t, "send text", g.body(t, "POST /send/text"), fixture(t, "send_text_request.json"))

	res, err = p.Send(context.Background(), &channels.OutboundMessage{To: maria, Type: channels.OutDocument,
		Media: &channels.OutboundMedia{Link: "https://example.com/orcamento.pdf", Filename: "orcamento.pdf", Caption: "Segue o orçamento"}})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "media id", res.ExternalID, "3EB0SENT2")
	jsonEqual(t, "send media", g.body(t, "POST /send/media"), fixture(t, "send_media_request.json"))

	if _, err := p.Send(context.Background(), &channels.OutboundMessage{To: maria, Type: channels.OutAudio,
		Media: &channels.OutboundMedia{Link: "https://example.com/a.ogg", Voice: true}}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "send ptt", g.body(t, "POST /send/media"), []byte(`{"number":"5511987654321","type":"ptt","file":"https://example.com/a.ogg"}`))

	for _, msg := range []*channels.OutboundMessage{
		{To: maria, Type: channels.OutImage, Media: &channels.OutboundMedia{ID: "upload-id"}},
		{To: maria, Type: channels.OutTemplate, Template: &channels.TemplateMessage{Name: "x", LanguageCode: "pt_BR"}},
	} {
		if _, err := p.Send(context.Background(), msg); channels.KindOf(err) != channels.Permanent {
			t.Errorf("%s: want permanent, got %v", msg.Type, err)
		}
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	g, p := newGateway(t)
	msg := &channels.OutboundMessage{To: maria, Type: channels.OutText, Text: &channels.OutboundText{Body: "x"}}
	// 404 (no answer configured) → permanent.
	if _, err := p.Send(context.Background(), msg); channels.KindOf(err) != channels.Permanent {
		t.Errorf("404: %v", err)
	}
	g.Close()
	if _, err := p.Send(context.Background(), msg); channels.KindOf(err) != channels.Retryable {
		t.Errorf("down: want retryable, got %v", err)
	}
	wrong, _ := New(Config{Credentials: channels.Credentials{BaseURL: "http://127.0.0.1:1", InstanceToken: "t"}})
	if _, err := wrong.Send(context.Background(), msg); channels.KindOf(err) != channels.Retryable {
		t.Errorf("refused: want retryable, got %v", err)
	}
}

func TestInstanceManagement(t *testing.T) {
	t.Parallel()
	g, p := newGateway(t)
	g.answers["GET /instance/status"] = string(fixture(t, "instance_status_response.json"))
	g.answers["POST /webhook"] = `{"ok":true}`
	g.answers["POST /instance/connect"] = string(testdata(t, "connect_qr_response.json"))

	st, err := p.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "status", st.Status, crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED)
	eq(t, "owner", st.Owner, "5511940001000")
	eq(t, "profile", st.ProfileName, "Loja Exemplo")
	eq(t, "logged in", st.LoggedIn, true)

	if err := p.ConfigureWebhook(context.Background(), "https://crm.example.com/webhooks/uazapi"); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "webhook config", g.body(t, "POST /webhook"), fixture(t, "webhook_config_request.json"))

	st, err = p.Connect(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "qr", st.QRCode, "data:image/png;base64,iVBORw0KGgo=")
	eq(t, "connecting", st.Status, crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING)
	jsonEqual(t, "connect body", g.body(t, "POST /instance/connect"), []byte(`{}`))

	g.mu.Lock()
	g.answers["POST /instance/connect"] = string(testdata(t, "connect_paircode_response.json"))
	g.mu.Unlock()
	st, err = p.Connect(context.Background(), "+55 11 94000-1000")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "pairing code", st.PairingCode, "ABCD-1234")
	jsonEqual(t, "connect with phone", g.body(t, "POST /instance/connect"), []byte(`{"phone":"5511940001000"}`))
}

func TestFetchMedia(t *testing.T) {
	t.Parallel()
	g, p := newGateway(t)
	data := []byte("decrypted image bytes")
	sum := sha256.Sum256(data)
	g.answers["POST /message/download"] = `{"base64Data":"` + base64.StdEncoding.EncodeToString(data) + `","mimetype":"image/jpeg"}`
	got, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "3EB0IMAGE", SHA256: base64.StdEncoding.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "data", string(got.Data), string(data))
	eq(t, "mime", got.MimeType, "image/jpeg")
	if _, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "3EB0IMAGE",
		SHA256: "q1W0m7oJ2b3Y6cXyV0mYl0x3pJjz9XQf0Qk2sT8vA1U="}); !errors.Is(err, channels.ErrMediaChecksum) {
		t.Errorf("mismatch: want ErrMediaChecksum, got %v", err)
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	c := channels.Credentials{InstanceToken: fixtureToken, BaseURL: "https://x.uazapi.com"}
	var sb strings.Builder
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String()} {
		sb.WriteString(s)
	}
	if strings.Contains(sb.String(), fixtureToken) {
		t.Errorf("token printed: %s", sb.String())
	}
}
