package evolution

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

	"crm/channels"
	crmpb "crm/proto"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	apikey = "EXAMPLE-INSTANCE-APIKEY"
	maria  = "5511987654321"
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
	b, err := os.ReadFile(filepath.Join(sharedFixtures(t), "evolution", name))
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
		if strings.Contains(protojson.Format(ev), apikey) {
			t.Fatalf("apikey leaked into an event: %v", ev)
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

func inbound(t *testing.T, name string) (*crmpb.ContactProfile, *crmpb.Message) {
	t.Helper()
	ev := parseOne(t, testdata(t, name))
	in := ev.GetInboundMessage()
	if in == nil {
		t.Fatalf("%s: want inbound, got %T", name, ev.GetEvent())
	}
	eq(t, name+" dedupe", ev.DedupeKey, in.Message.ExternalId)
	return in.Contact, in.Message
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

func TestFixtureUpsertText(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, fixture(t, "messages_upsert_text.json"))
	eq(t, "provider", ev.Provider, ProviderName)
	eq(t, "account", ev.AccountId, "crm-vendas")
	eq(t, "business", ev.BusinessAccountId, "5511940001000")
	eq(t, "dedupe", ev.DedupeKey, "3EB0A1B2C3D4E5F60718")
	eq(t, "seconds normalised", ev.TimestampMs, int64(1767000000000))
	in := ev.GetInboundMessage()
	protoEq(t, "contact", in.GetContact(), &crmpb.ContactProfile{ExternalId: maria, WaId: maria, Phone: maria, Name: "Maria Souza"})
	protoEq(t, "message", in.GetMessage(), &crmpb.Message{ExternalId: "3EB0A1B2C3D4E5F60718", Type: crmpb.MessageType_MESSAGE_TYPE_TEXT,
		ProviderType: "conversation", From: "5511987654321@s.whatsapp.net", TimestampMs: 1767000000000, Text: "Olá, quero um orçamento"})
}

func TestUpsertTypes(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, testdata(t, "upsert_from_me.json"))
	if ev.GetOutboundEcho() == nil {
		t.Fatalf("fromMe: want echo, got %T", ev.GetEvent())
	}
	eq(t, "echo contact", ev.GetOutboundEcho().GetContact().GetExternalId(), maria)
	eq(t, "echo contact has no push name of ours", ev.GetOutboundEcho().GetContact().GetName(), "")

	_, m := inbound(t, "upsert_image.json")
	protoEq(t, "image", m.Media, &crmpb.Media{Id: "3EB0IMG", Url: "https://mmg.whatsapp.net/x.enc", MimeType: "image/jpeg",
		Caption: "Foto", Sha256: "q1W0m7oJ2b3Y6cXyV0mYl0x3pJjz9XQf0Qk2sT8vA1U=", FileSize: 183422})
	eq(t, "image type", m.Type, crmpb.MessageType_MESSAGE_TYPE_IMAGE)
	_, m = inbound(t, "upsert_ptt.json")
	eq(t, "ptt", m.Type, crmpb.MessageType_MESSAGE_TYPE_AUDIO)
	eq(t, "voice", m.Media.GetVoice(), true)
	_, m = inbound(t, "upsert_document.json")
	eq(t, "document", m.Type, crmpb.MessageType_MESSAGE_TYPE_DOCUMENT)
	eq(t, "filename", m.Media.GetFilename(), "boleto.pdf")
	eq(t, "caption", m.Media.GetCaption(), "Segue")
	_, m = inbound(t, "upsert_video.json")
	eq(t, "video", m.Type, crmpb.MessageType_MESSAGE_TYPE_VIDEO)
	_, m = inbound(t, "upsert_sticker.json")
	eq(t, "sticker", m.Type, crmpb.MessageType_MESSAGE_TYPE_STICKER)
	eq(t, "animated", m.Media.GetAnimated(), true)
	_, m = inbound(t, "upsert_location.json")
	protoEq(t, "location", m.Location, &crmpb.Location{Latitude: -23.561684, Longitude: -46.655981, Name: "MASP", Address: "Av. Paulista, 1578"})
	_, m = inbound(t, "upsert_contacts.json")
	if len(m.Contacts) != 2 || m.Contacts[0].GetPhones()[0].GetWaId() != "5511912345678" || m.Contacts[1].GetName().GetFormattedName() != "Ana" {
		t.Errorf("contacts: %v", m.Contacts)
	}
	_, m = inbound(t, "upsert_reaction.json")
	protoEq(t, "reaction", m.Reaction, &crmpb.Reaction{TargetExternalId: "3EB0OURS", Emoji: "👍"})
	_, m = inbound(t, "upsert_reaction_removed.json")
	protoEq(t, "unreaction", m.Reaction, &crmpb.Reaction{TargetExternalId: "3EB0OURS", Removed: true})
	_, m = inbound(t, "upsert_button.json")
	protoEq(t, "button", m.ButtonReply, &crmpb.ButtonReply{Id: "confirmar-pedido", Title: "Confirmar"})
	_, m = inbound(t, "upsert_list.json")
	protoEq(t, "list", m.ListReply, &crmpb.ListReply{Id: "sp", Title: "São Paulo", Description: "Capital"})
	_, m = inbound(t, "upsert_template_button.json")
	protoEq(t, "template button", m.TemplateButton, &crmpb.TemplateButton{Payload: "PARAR", Text: "Parar"})
	_, m = inbound(t, "upsert_reply.json")
	protoEq(t, "reply", m.ReplyTo, &crmpb.ReplyContext{ExternalId: "3EB0ORIGINAL", From: "5511940001000"})
	eq(t, "forwarded", m.Forwarded, true)
	eq(t, "frequently", m.FrequentlyForwarded, true)
	eq(t, "text", m.Text, "esse mesmo")
	c, m := inbound(t, "upsert_group.json")
	protoEq(t, "group author", c, &crmpb.ContactProfile{ExternalId: "5521999990000", WaId: "5521999990000", Phone: "5521999990000",
		Name: "José", GroupId: "120363000000000000@g.us"})
	eq(t, "group from", m.From, "5521999990000@s.whatsapp.net")
	c, _ = inbound(t, "upsert_lid.json")
	protoEq(t, "lid resolved", c, &crmpb.ContactProfile{ExternalId: maria, WaId: maria, Phone: maria, Name: "Maria Souza", Lid: "123456789012345@lid"})
	_, m = inbound(t, "upsert_poll.json")
	eq(t, "poll", m.Type, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED)
	_, m = inbound(t, "upsert_no_type.json")
	eq(t, "no messageType", m.Type, crmpb.MessageType_MESSAGE_TYPE_TEXT)
	eq(t, "no messageType text", m.Text, "sem messageType")
}

func TestUpdates(t *testing.T) {
	t.Parallel()
	want := map[string]crmpb.DeliveryStatus{
		"pending": crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING, "server_ack": crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
		"delivery_ack": crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, "read": crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
		"played": crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED, "error": crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
	}
	keys := map[string]bool{}
	for name, status := range want {
		ev := parseOne(t, testdata(t, "update_"+name+".json"))
		st := ev.GetStatusUpdate()
		eq(t, name+" status", st.GetStatus(), status)
		eq(t, name+" id", st.GetExternalMessageId(), "3EB0OUT1")
		eq(t, name+" recipient", st.GetRecipientId(), maria)
		if keys[ev.DedupeKey] {
			t.Errorf("%s: dedupe key repeats", name)
		}
		keys[ev.DedupeKey] = true
	}
	ev := parseOne(t, testdata(t, "update_v1_numeric.json"))
	eq(t, "numeric read", ev.GetStatusUpdate().GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_READ)
	eq(t, "numeric id", ev.GetStatusUpdate().GetExternalMessageId(), "3EB0OUT2")
	for _, name := range []string{"update_inbound.json", "send_message_skipped.json"} {
		if events := parse(t, testdata(t, name)); len(events) != 0 {
			t.Errorf("%s: want no events, got %v", name, events)
		}
	}
}

func TestConnectionEvents(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, testdata(t, "connection_open.json"))
	protoEq(t, "open", ev.GetConnectionState(), &crmpb.ConnectionState{Status: crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED,
		ProviderStatus: "open", Reason: "200", Owner: "5511940001000"})
	eq(t, "time from date_time", ev.TimestampMs, time.Date(2026, 1, 1, 9, 20, 0, 0, time.UTC).UnixMilli())
	ev = parseOne(t, testdata(t, "connection_close.json"))
	eq(t, "close", ev.GetConnectionState().GetStatus(), crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED)
	ev = parseOne(t, testdata(t, "qrcode_updated.json"))
	protoEq(t, "qr", ev.GetConnectionState(), &crmpb.ConnectionState{Status: crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING,
		ProviderStatus: "qrcode", QrCode: "data:image/png;base64,iVBORw0KGgo=", PairingCode: "ABCD1234"})
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	body := fixture(t, "messages_upsert_text.json")
	if err := VerifyWebhook("s", apikey, channels.WebhookRequest{PathSecret: "s", Body: body}); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"wrong secret": VerifyWebhook("s", apikey, channels.WebhookRequest{PathSecret: "x", Body: body}),
		"wrong apikey": VerifyWebhook("s", "other", channels.WebhookRequest{PathSecret: "s", Body: body}),
		"no apikey":    VerifyWebhook("s", apikey, channels.WebhookRequest{PathSecret: "s", Body: []byte(`{"event":"messages.upsert"}`)}),
	} {
		if !errors.Is(err, channels.ErrInvalidSignature) {
			t.Errorf("%s: want ErrInvalidSignature, got %v", name, err)
		}
	}
	if err := VerifyWebhook("s", apikey, channels.WebhookRequest{PathSecret: "s", Body: []byte("{")}); !errors.Is(err, channels.ErrInvalidPayload) {
		t.Errorf("truncated: %v", err)
	}
	if _, err := ParseWebhook([]byte(`{"data":{}}`), received); !errors.Is(err, channels.ErrInvalidPayload) {
		t.Errorf("no event: %v", err)
	}
}

type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]byte
	answers  map[string]string
}

func newServer(t *testing.T) (*server, *Provider) {
	t.Helper()
	s := &server{requests: map[string][]byte{}, answers: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") != apikey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		s.mu.Lock()
		s.requests[key] = b
		answer, ok := s.answers[key]
		s.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(s.Close)
	p, err := New(Config{Credentials: channels.Credentials{BaseURL: s.URL, InstanceName: "crm-vendas", InstanceToken: apikey}})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func (s *server) body(t *testing.T, key string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.requests[key]
	if !ok {
		t.Fatalf("no request %s", key)
	}
	return string(b)
}

func jsonEqual(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	s, p := newServer(t)
	ok := `{"key":{"remoteJid":"5511987654321@s.whatsapp.net","fromMe":true,"id":"3EB0SENT"},"status":"PENDING"}`
	for _, path := range []string{"sendText", "sendMedia", "sendWhatsAppAudio", "sendSticker", "sendLocation", "sendReaction"} {
		s.answers["POST /message/"+path+"/crm-vendas"] = ok
	}
	cases := []struct {
		msg  *channels.OutboundMessage
		path string
		want string
	}{
		{&channels.OutboundMessage{To: "+55 11 98765-4321", Type: channels.OutText, Text: &channels.OutboundText{Body: "Olá"}, ReplyTo: "3EB0ORIG"},
			"sendText", `{"number":"5511987654321","text":"Olá","quoted":{"key":{"id":"3EB0ORIG"}}}`},
		{&channels.OutboundMessage{To: maria, Type: channels.OutDocument, Media: &channels.OutboundMedia{Link: "https://example.com/b.pdf", Filename: "b.pdf", Caption: "Boleto", MimeType: "application/pdf"}},
			"sendMedia", `{"number":"5511987654321","mediatype":"document","mimetype":"application/pdf","caption":"Boleto","media":"https://example.com/b.pdf","fileName":"b.pdf"}`},
		{&channels.OutboundMessage{To: maria, Type: channels.OutAudio, Media: &channels.OutboundMedia{Link: "https://example.com/a.ogg"}},
			"sendWhatsAppAudio", `{"number":"5511987654321","audio":"https://example.com/a.ogg"}`},
		{&channels.OutboundMessage{To: maria, Type: channels.OutSticker, Media: &channels.OutboundMedia{Link: "https://example.com/s.webp"}},
			"sendSticker", `{"number":"5511987654321","sticker":"https://example.com/s.webp"}`},
		{&channels.OutboundMessage{To: maria, Type: channels.OutLocation, Location: &crmpb.Location{Latitude: -23.5, Longitude: -46.6, Name: "MASP"}},
			"sendLocation", `{"number":"5511987654321","name":"MASP","latitude":-23.5,"longitude":-46.6}`},
		{&channels.OutboundMessage{To: maria, Type: channels.OutReaction, Reaction: &channels.OutboundReaction{MessageID: "3EB0IN", Emoji: "👍"}},
			"sendReaction", `{"key":{"remoteJid":"5511987654321@s.whatsapp.net","fromMe":false,"id":"3EB0IN"},"reaction":"👍"}`},
	}
	for _, tc := range cases {
		res, err := p.Send(context.Background(), tc.msg)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		eq(t, tc.path+" id", res.ExternalID, "3EB0SENT")
		jsonEqual(t, tc.path, s.body(t, "POST /message/"+tc.path+"/crm-vendas"), tc.want)
	}
	if _, err := p.Send(context.Background(), &channels.OutboundMessage{To: maria, Type: channels.OutTemplate,
		Template: &channels.TemplateMessage{Name: "x", LanguageCode: "pt_BR"}}); channels.KindOf(err) != channels.Permanent {
		t.Errorf("template: %v", err)
	}
	s.Close()
	if _, err := p.Send(context.Background(), cases[0].msg); channels.KindOf(err) != channels.Retryable {
		t.Errorf("server down: want retryable, got %v", err)
	}
}

func TestInstanceAndMedia(t *testing.T) {
	t.Parallel()
	s, p := newServer(t)
	s.answers["GET /instance/connect/crm-vendas"] = `{"pairingCode":"WZYEH1YY","code":"2@y8eK+bjtEjUWy9/FOM","base64":"data:image/png;base64,iVBOR","count":1}`
	s.answers["GET /instance/connectionState/crm-vendas"] = `{"instance":{"instanceName":"crm-vendas","state":"open"}}`
	s.answers["POST /webhook/set/crm-vendas"] = `{"webhook":{}}`
	data := []byte("media bytes")
	sum := sha256.Sum256(data)
	s.answers["POST /chat/getBase64FromMediaMessage/crm-vendas"] = `{"mediaType":"imageMessage","fileName":"a.jpg","mimetype":"image/jpeg","base64":"` +
		base64.StdEncoding.EncodeToString(data) + `"}`

	st, err := p.Connect(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "qr", st.QRCode, "data:image/png;base64,iVBOR")
	eq(t, "pairing", st.PairingCode, "WZYEH1YY")
	st, err = p.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "state", st.Status, crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED)
	if err := p.ConfigureWebhook(context.Background(), "https://crm.example.com/webhooks/evolution/c/s"); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "webhook", s.body(t, "POST /webhook/set/crm-vendas"), `{"webhook":{"enabled":true,"url":"https://crm.example.com/webhooks/evolution/c/s",
		"webhookByEvents":false,"webhookBase64":false,"events":["MESSAGES_UPSERT","MESSAGES_UPDATE","CONNECTION_UPDATE","QRCODE_UPDATED"]}}`)

	got, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "3EB0IMG", SHA256: base64.StdEncoding.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "media", string(got.Data), string(data))
	eq(t, "filename", got.Filename, "a.jpg")
	if _, err := p.FetchMedia(context.Background(), channels.MediaRef{ID: "3EB0IMG", SHA256: "q1W0m7oJ2b3Y6cXyV0mYl0x3pJjz9XQf0Qk2sT8vA1U="}); !errors.Is(err, channels.ErrMediaChecksum) {
		t.Errorf("mismatch: %v", err)
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, dir := range []string{filepath.Join(sharedFixtures(f), "evolution"), "testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"event":"messages.upsert","data":[{"key":{"id":1},"message":{"conversation":{}}},3]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseWebhook(body, received)
		if err != nil {
			if events != nil {
				t.Fatal("events and an error")
			}
			return
		}
		if events == nil {
			t.Fatal("nil events without an error")
		}
		for _, ev := range events {
			if ev.GetDedupeKey() == "" || ev.GetEvent() == nil {
				t.Fatalf("incomplete event %v", ev)
			}
			if _, err := proto.Marshal(ev); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}
