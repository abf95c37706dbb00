package meta

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"crm/channels"
	crmpb "crm/proto"
)

// graphServer is a fake Graph API that records requests and answers with a
// fixed status and body.
type graphServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	status   int
	body     []byte
	header   http.Header
}

type recorded struct {
	method, path, auth string
	body               []byte
}

func newGraphServer(t *testing.T, status int, body []byte) *graphServer {
	t.Helper()
	g := &graphServer{status: status, body: body, header: http.Header{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.requests = append(g.requests, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), b})
		g.mu.Unlock()
		for k, v := range g.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(g.status)
		_, _ = w.Write(g.body)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *graphServer) last(t *testing.T) recorded {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.requests) == 0 {
		t.Fatal("no request reached the server")
	}
	return g.requests[len(g.requests)-1]
}

func jsonEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got invalid JSON %s: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want invalid JSON: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: request body\n got  %s\n want %s", what, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

const to = "+5511987654321"

func TestWhatsAppSendBodies(t *testing.T) {
	t.Parallel()
	fromShared := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return fixture(t, "whatsapp", "send", name) }
	}
	fromTestdata := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return testdata(t, "send/"+name) }
	}
	cases := []struct {
		name string
		msg  *channels.OutboundMessage
		want func(t *testing.T) []byte
	}{
		{"text", &channels.OutboundMessage{To: to, Type: channels.OutText,
			Text: &channels.OutboundText{Body: "Olá Maria, seu pedido saiu para entrega.", PreviewURL: ptr(false)}},
			fromShared("text.json")},
		{"text with preview", &channels.OutboundMessage{To: to, Type: channels.OutText,
			Text: &channels.OutboundText{Body: "Veja https://example.com", PreviewURL: ptr(true)}},
			fromTestdata("text_preview.json")},
		{"reply with context", &channels.OutboundMessage{To: to, Type: channels.OutText,
			ReplyTo: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD01AA==",
			Text:    &channels.OutboundText{Body: "Sim!"}},
			fromShared("text_contextual_reply.json")},
		{"image by id", &channels.OutboundMessage{To: to, Type: channels.OutImage,
			Media: &channels.OutboundMedia{ID: "1037543291543636", Caption: "Catálogo"}},
			fromShared("image_by_id.json")},
		{"document by link", &channels.OutboundMessage{To: to, Type: channels.OutDocument,
			Media: &channels.OutboundMedia{Link: "https://example.com/boleto.pdf", Filename: "boleto.pdf", Caption: "Seu boleto"}},
			fromShared("document_by_link.json")},
		{"audio by id (caption dropped)", &channels.OutboundMessage{To: to, Type: channels.OutAudio,
			Media: &channels.OutboundMedia{ID: "998877", Caption: "not allowed on audio"}},
			fromTestdata("audio_by_id.json")},
		{"video by link", &channels.OutboundMessage{To: to, Type: channels.OutVideo,
			Media: &channels.OutboundMedia{Link: "https://example.com/v.mp4", Caption: "Demonstração"}},
			fromTestdata("video_by_link.json")},
		{"sticker by id", &channels.OutboundMessage{To: to, Type: channels.OutSticker,
			Media: &channels.OutboundMedia{ID: "445566"}},
			fromTestdata("sticker_by_id.json")},
		{"location", &channels.OutboundMessage{To: to, Type: channels.OutLocation,
			Location: &crmpb.Location{Latitude: -23.561684, Longitude: -46.655981, Name: "MASP", Address: "Av. Paulista, 1578"}},
			fromTestdata("location.json")},
		{"contacts", &channels.OutboundMessage{To: to, Type: channels.OutContacts,
			Contacts: []*crmpb.ContactCard{{
				Name:   &crmpb.ContactName{FormattedName: "João Silva", FirstName: "João", LastName: "Silva"},
				Phones: []*crmpb.ContactPhone{{Phone: "+5511912345678", WaId: "5511912345678", Type: "CELL"}},
				Emails: []*crmpb.ContactEmail{{Email: "joao@example.com", Type: "WORK"}},
				Orgs:   []*crmpb.ContactOrg{{Company: "Loja Exemplo", Title: "Gerente"}},
				Urls:   []*crmpb.ContactUrl{{Url: "https://example.com", Type: "WORK"}},
			}}},
			fromTestdata("contacts.json")},
		{"reaction", &channels.OutboundMessage{To: to, Type: channels.OutReaction,
			Reaction: &channels.OutboundReaction{MessageID: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD01AA==", Emoji: "❤️"}},
			fromShared("reaction.json")},
		{"reaction removed", &channels.OutboundMessage{To: to, Type: channels.OutReaction,
			Reaction: &channels.OutboundReaction{MessageID: "wamid.ABC"}},
			fromTestdata("reaction_removed.json")},
		{"interactive buttons", &channels.OutboundMessage{To: to, Type: channels.OutInteractive,
			Interactive: &channels.Interactive{Kind: channels.InteractiveButtons, Body: "Confirma o pedido?",
				Buttons: []channels.ReplyButton{{ID: "confirmar-pedido", Title: "Confirmar"}, {ID: "cancelar-pedido", Title: "Cancelar"}}}},
			fromShared("interactive_buttons.json")},
		{"interactive list", &channels.OutboundMessage{To: to, Type: channels.OutInteractive,
			Interactive: &channels.Interactive{Kind: channels.InteractiveList, Header: "Lojas", Body: "Escolha a loja",
				Footer: "Horário comercial", ListButton: "Ver lojas",
				Sections: []channels.ListSection{{Title: "SP", Rows: []channels.ListRow{
					{ID: "sp-paulista", Title: "Paulista", Description: "Av. Paulista"}, {ID: "sp-centro", Title: "Centro"}}}}}},
			fromTestdata("interactive_list.json")},
		{"template", &channels.OutboundMessage{To: to, Type: channels.OutTemplate,
			Template: &channels.TemplateMessage{Name: "pedido_enviado", LanguageCode: "pt_BR",
				Components: []channels.TemplateComponent{{Type: "body", Parameters: []channels.TemplateParameter{
					{Type: "text", Text: "Maria"}, {Type: "text", Text: "#12345"}}}}}},
			fromShared("template.json")},
		{"template with media, currency, date and button", &channels.OutboundMessage{To: to, Type: channels.OutTemplate,
			Template: &channels.TemplateMessage{Name: "boleto_pronto", LanguageCode: "pt_BR",
				Components: []channels.TemplateComponent{
					{Type: "header", Parameters: []channels.TemplateParameter{{Type: "document",
						Media: &channels.OutboundMedia{Link: "https://example.com/boleto.pdf", Filename: "boleto.pdf"}}}},
					{Type: "body", Parameters: []channels.TemplateParameter{{Type: "text", Text: "Maria"},
						{Type: "currency", Currency: &channels.TemplateCurrency{FallbackValue: "R$ 10,50", Code: "BRL", Amount1000: 10500}},
						{Type: "date_time", DateTime: "1 de janeiro"}}},
					{Type: "button", SubType: "quick_reply", Index: ptr(0), Parameters: []channels.TemplateParameter{{Type: "payload", Payload: "PAGAR"}}},
				}}},
			fromTestdata("template_media_buttons.json")},
	}
	success := fixture(t, "whatsapp", "send", "response_success.json")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newGraphServer(t, http.StatusOK, success)
			p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP,
				channels.Credentials{AccessToken: "tok", PhoneNumberID: fixturePhoneNumberID}, srv.URL)
			res, err := p.Send(context.Background(), tc.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			eq(t, "external id", res.ExternalID, "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjc3Nzc3Nzc3Nzc3Nzc3NzcA")
			eq(t, "recipient", res.RecipientID, maria)
			req := srv.last(t)
			eq(t, "method", req.method, http.MethodPost)
			eq(t, "path", req.path, "/v21.0/"+fixturePhoneNumberID+"/messages")
			eq(t, "auth", req.auth, "Bearer tok")
			jsonEqual(t, tc.name, req.body, tc.want(t))
		})
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	srv := newGraphServer(t, http.StatusOK, []byte(`{}`))
	p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{PhoneNumberID: "1"}, srv.URL)
	four := make([]channels.ReplyButton, 4)
	for _, msg := range []*channels.OutboundMessage{
		nil,
		{Type: channels.OutText, Text: &channels.OutboundText{Body: "x"}},
		{To: to, Type: channels.OutText},
		{To: to, Type: channels.OutImage, Media: &channels.OutboundMedia{}},
		{To: to, Type: channels.OutInteractive, Interactive: &channels.Interactive{Kind: channels.InteractiveButtons, Body: "b", Buttons: four}},
		{To: to, Type: channels.OutTemplate, Template: &channels.TemplateMessage{Name: "x"}},
		{To: to, Type: "hologram"},
	} {
		_, err := p.Send(context.Background(), msg)
		if channels.KindOf(err) != channels.Permanent || err == nil {
			t.Errorf("%+v: want a permanent error, got %v", msg, err)
		}
	}
	if len(srv.requests) != 0 {
		t.Errorf("invalid messages must not reach Meta: %d requests", len(srv.requests))
	}
}

func TestMessagingSendBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		channel crmpb.Channel
		msg     *channels.OutboundMessage
		want    func(t *testing.T) []byte
	}{
		{"messenger text", crmpb.Channel_CHANNEL_MESSENGER,
			&channels.OutboundMessage{To: "7012345678901234", Type: channels.OutText, Text: &channels.OutboundText{Body: "Abrimos às 9h."}},
			func(t *testing.T) []byte { return fixture(t, "messenger", "send_request.json") }},
		{"instagram text", crmpb.Channel_CHANNEL_INSTAGRAM,
			&channels.OutboundMessage{To: "1234567890123456", Type: channels.OutText, Text: &channels.OutboundText{Body: "Tem sim!"}},
			func(t *testing.T) []byte { return fixture(t, "instagram", "send_request.json") }},
		{"messenger image by link", crmpb.Channel_CHANNEL_MESSENGER,
			&channels.OutboundMessage{To: "7012345678901234", Type: channels.OutImage, Media: &channels.OutboundMedia{Link: "https://example.com/a.jpg"}},
			func(t *testing.T) []byte { return testdata(t, "send/messenger_image.json") }},
		{"messenger buttons as quick replies", crmpb.Channel_CHANNEL_MESSENGER,
			&channels.OutboundMessage{To: "7012345678901234", Type: channels.OutInteractive, Interactive: &channels.Interactive{
				Kind: channels.InteractiveButtons, Body: "Confirma?", Buttons: []channels.ReplyButton{{ID: "yes", Title: "Sim"}, {ID: "no", Title: "Não"}}}},
			func(t *testing.T) []byte { return testdata(t, "send/messenger_quick_replies.json") }},
		{"instagram file by attachment id", crmpb.Channel_CHANNEL_INSTAGRAM,
			&channels.OutboundMessage{To: "1234567890123456", Type: channels.OutDocument, Media: &channels.OutboundMedia{ID: "att_1"}},
			func(t *testing.T) []byte { return testdata(t, "send/instagram_file_by_id.json") }},
		{"instagram reaction", crmpb.Channel_CHANNEL_INSTAGRAM,
			&channels.OutboundMessage{To: "1234567890123456", Type: channels.OutReaction, Reaction: &channels.OutboundReaction{MessageID: "ig_MID", Emoji: "❤️"}},
			func(t *testing.T) []byte { return testdata(t, "send/instagram_reaction.json") }},
	}
	response := fixture(t, "messenger", "send_response.json")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newGraphServer(t, http.StatusOK, response)
			p := newTestProvider(t, tc.channel, channels.Credentials{AccessToken: "page-token"}, srv.URL)
			res, err := p.Send(context.Background(), tc.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			eq(t, "external id", res.ExternalID, "m_AbCdEf0123456789echo")
			req := srv.last(t)
			eq(t, "path", req.path, "/v21.0/me/messages")
			eq(t, "auth", req.auth, "Bearer page-token")
			jsonEqual(t, tc.name, req.body, tc.want(t))
		})
	}
	// What the channel can't carry fails before any call.
	srv := newGraphServer(t, http.StatusOK, response)
	p := newTestProvider(t, crmpb.Channel_CHANNEL_MESSENGER, channels.Credentials{AccessToken: "t"}, srv.URL)
	_, err := p.Send(context.Background(), &channels.OutboundMessage{To: "1", Type: channels.OutTemplate,
		Template: &channels.TemplateMessage{Name: "x", LanguageCode: "pt_BR"}})
	if channels.KindOf(err) != channels.Permanent {
		t.Errorf("template on messenger: want permanent, got %v", err)
	}
	if len(srv.requests) != 0 {
		t.Error("unsupported send reached Meta")
	}
}

func graphError(code int, subcode int) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": "err", "type": "OAuthException", "code": code, "error_subcode": subcode,
		"error_data": map[string]any{"details": "details"}, "fbtrace_id": "trace"}})
	return b
}

func TestSendErrorMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		body       []byte
		header     http.Header
		kind       channels.SendErrorKind
		retryAfter time.Duration
	}{
		{"fixture 130429", http.StatusBadRequest, fixture(t, "whatsapp", "send", "response_error_130429.json"), nil, channels.RateLimited, 2 * time.Second},
		{"131047 window", http.StatusBadRequest, graphError(131047, 0), nil, channels.WindowClosed, 0},
		{"131026 undeliverable", http.StatusBadRequest, graphError(131026, 0), nil, channels.Unreachable, 0},
		{"131056 pair rate", http.StatusBadRequest, graphError(131056, 0), nil, channels.RateLimited, 6 * time.Second},
		{"4 app rate", http.StatusBadRequest, graphError(4, 0), nil, channels.RateLimited, time.Minute},
		{"80007 waba rate", http.StatusBadRequest, graphError(80007, 0), nil, channels.RateLimited, time.Minute},
		{"131057 maintenance", http.StatusBadRequest, graphError(131057, 0), nil, channels.Retryable, time.Minute},
		{"131048 spam", http.StatusBadRequest, graphError(131048, 0), nil, channels.Permanent, 0},
		{"131050 opted out", http.StatusBadRequest, graphError(131050, 0), nil, channels.Permanent, 0},
		{"132000 template params", http.StatusBadRequest, graphError(132000, 0), nil, channels.Permanent, 0},
		{"132001 template missing", http.StatusBadRequest, graphError(132001, 0), nil, channels.Permanent, 0},
		{"132016 template paused", http.StatusBadRequest, graphError(132016, 0), nil, channels.Permanent, 0},
		{"template code on a 500 is still permanent", http.StatusInternalServerError, graphError(132012, 0), nil, channels.Permanent, 0},
		{"500 without body", http.StatusInternalServerError, nil, nil, channels.Retryable, 5 * time.Second},
		{"503 unknown code", http.StatusServiceUnavailable, graphError(999999, 0), nil, channels.Retryable, 5 * time.Second},
		{"429 without code", http.StatusTooManyRequests, nil, nil, channels.RateLimited, 5 * time.Second},
		{"Retry-After header wins when longer", http.StatusTooManyRequests, graphError(130429, 0), http.Header{"Retry-After": {"30"}}, channels.RateLimited, 30 * time.Second},
		{"400 unknown code", http.StatusBadRequest, graphError(100, 0), nil, channels.Permanent, 0},
		{"401 bad token", http.StatusUnauthorized, graphError(190, 0), nil, channels.Permanent, 0},
		{"messenger outside window", http.StatusBadRequest, graphError(10, 2018278), nil, channels.WindowClosed, 0},
		{"messenger user unavailable", http.StatusBadRequest, graphError(551, 0), nil, channels.Unreachable, 0},
	}
	msg := &channels.OutboundMessage{To: to, Type: channels.OutText, Text: &channels.OutboundText{Body: "oi"}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newGraphServer(t, tc.status, tc.body)
			for k, v := range tc.header {
				srv.header[k] = v
			}
			p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "t", PhoneNumberID: "1"}, srv.URL)
			_, err := p.Send(context.Background(), msg)
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("want *SendError, got %v", err)
			}
			eq(t, "kind", se.Kind, tc.kind)
			eq(t, "retry after", se.RetryAfter, tc.retryAfter)
			eq(t, "http status", se.HTTPStatus, tc.status)
			eq(t, "retryable helper", channels.IsRetryable(err), tc.kind == channels.Retryable || tc.kind == channels.RateLimited)
		})
	}

	// The fixture's details survive.
	se := MapError(400, nil, fixture(t, "whatsapp", "send", "response_error_130429.json"))
	eq(t, "code", se.Code, 130429)
	eq(t, "subcode", se.Subcode, 2494055)
	eq(t, "details", se.Details, "Cloud API message throughput has been reached.")
	eq(t, "trace", se.TraceID, "AbCdEfGh123456789")
	if !errors.Is(se, channels.ErrSendRateLimited) {
		t.Error("errors.Is(ErrSendRateLimited)")
	}
	if !errors.Is(MapError(400, nil, graphError(131047, 0)), channels.ErrWindowClosed) {
		t.Error("errors.Is(ErrWindowClosed)")
	}
}

func TestSendTransportErrorsAreRetryable(t *testing.T) {
	t.Parallel()
	msg := &channels.OutboundMessage{To: to, Type: channels.OutText, Text: &channels.OutboundText{Body: "oi"}}

	// Connection refused.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{PhoneNumberID: "1"}, closed.URL)
	if _, err := p.Send(context.Background(), msg); channels.KindOf(err) != channels.Retryable {
		t.Errorf("connection refused: want retryable, got %v", err)
	}

	// Timeout.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	p2, err := New(Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{PhoneNumberID: "1"},
		Settings: channels.Settings{GraphBaseURL: slow.URL, Timeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Send(context.Background(), msg); channels.KindOf(err) != channels.Retryable {
		t.Errorf("timeout: want retryable, got %v", err)
	}
}

func TestSettingsPerConnection(t *testing.T) {
	t.Parallel()
	srv := newGraphServer(t, http.StatusOK, fixture(t, "whatsapp", "send", "response_success.json"))
	p, err := New(Config{Channel: crmpb.Channel_CHANNEL_WHATSAPP, Credentials: channels.Credentials{PhoneNumberID: "42"},
		Settings: channels.Settings{GraphBaseURL: srv.URL + "/", APIVersion: "v19.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), &channels.OutboundMessage{To: to, Type: channels.OutText, Text: &channels.OutboundText{Body: "x"}}); err != nil {
		t.Fatal(err)
	}
	eq(t, "path", srv.last(t).path, "/v19.0/42/messages")
	d := channels.Settings{}.WithDefaults()
	eq(t, "default base", d.GraphBaseURL, "https://graph.facebook.com")
	eq(t, "default version", d.APIVersion, "v21.0")
}
