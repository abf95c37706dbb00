package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm/persistence/pgtest"
)

// client talks to a node like the console does.
type client struct {
	t     *testing.T
	base  string
	token string
	host  string // the Host header to send; default the base's
}

func (c client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if c.host != "" {
		req.Host = c.host
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

func (c client) items(path string) []map[string]any {
	c.t.Helper()
	status, raw := c.do(http.MethodGet, path, nil)
	require.Equal(c.t, http.StatusOK, status, string(raw))
	var page struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(c.t, json.Unmarshal(raw, &page))
	return page.Items
}

// onePixelPNG is a valid 1×1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

// TestSandboxEndToEnd: through the sandbox (the real meta code path), an
// inbound message of each type appears in the conversation, media retrievable
// from our store; an outbound of each type reaches the sandbox in Meta's
// format and comes back delivered and read. The node runs as `make run`
// starts it: no CRM_PUBLIC_URL, no CRM_ALLOW_PRIVATE_PROVIDER_URLS. The
// customer's messages are simulated with a hostile Host header (issue #14):
// the server must neither show it nor call it.
func TestSandboxEndToEnd(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": url, "CRM_HTTP_ADDR": "127.0.0.1:0",
		"CRM_SECRET_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "CRM_MEDIA_DIR": t.TempDir()}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx := context.Background()
	n, err := Start(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { n.Shutdown(context.Background()) }) //nolint:errcheck
	require.NoError(t, seedDemo(ctx, n, cfg, io.Discard))
	connID, _, _ := sandboxConnection(t, n, "demo")
	admin := client{t: t, base: "http://" + n.Addr(), token: login(t, "http://"+n.Addr(), demoAdminEmail)}
	status, raw := admin.do(http.MethodPatch, "/api/v1/connections/"+connID.String(),
		map[string]any{"settings": map[string]any{"sandbox_status_delays_ms": []int{50, 100, 150}}})
	require.Equal(t, http.StatusOK, status, string(raw))

	// What a hostile Host would have made the server call (the issue's
	// 127.0.0.1:5432, here a listener that counts).
	var trapHits atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { trapHits.Add(1) }))
	t.Cleanup(trap.Close)
	hostile := admin
	hostile.host = strings.TrimPrefix(trap.URL, "http://")
	status, raw = hostile.do(http.MethodGet, "/api/v1/connections/"+connID.String(), nil)
	require.Equal(t, http.StatusOK, status, string(raw))
	var shown struct {
		WebhookURL string `json:"webhook_url"`
	}
	require.NoError(t, json.Unmarshal(raw, &shown))
	require.Equal(t, "http://"+n.Addr()+"/webhooks/sandbox/"+connID.String(), shown.WebhookURL, "derived from the listener, not the Host")

	lat, lng := -23.5505, -46.6333
	inbound := []map[string]any{
		{"type": "text", "text": "Olá!"},
		{"type": "image", "media": map[string]any{"mime_type": "image/png", "data_base64": base64.StdEncoding.EncodeToString(onePixelPNG), "caption": "foto"}},
		{"type": "audio", "media": map[string]any{"mime_type": "audio/ogg", "data_base64": base64.StdEncoding.EncodeToString([]byte("OggS fake voice")), "voice": true}},
		{"type": "document", "media": map[string]any{"mime_type": "application/pdf", "filename": "pedido.pdf", "data_base64": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 fake"))}},
		{"type": "location", "location": map[string]any{"latitude": lat, "longitude": lng, "name": "Praça da Sé"}},
		{"type": "contacts", "contacts": []map[string]any{{"name": map[string]any{"formatted_name": "Ana Souza"}, "phones": []map[string]any{{"phone": "+55 11 91234-5678", "wa_id": "5511912345678"}}}}},
		{"type": "interactive", "interactive": map[string]any{"type": "button_reply", "id": "sim", "title": "Sim"}},
		{"type": "unsupported"},
	}
	for _, msg := range inbound {
		msg["from"], msg["name"] = "5511987654321", "Maria"
		status, raw := hostile.do(http.MethodPost, "/api/v1/sandbox/"+connID.String()+"/inbound", msg)
		require.Equal(t, http.StatusAccepted, status, "%v: %s", msg["type"], raw)
	}
	var convID string
	require.Eventually(t, func() bool {
		convs := admin.items("/api/v1/conversations")
		if len(convs) != 1 {
			return false
		}
		convID = convs[0]["id"].(string)
		return len(admin.items("/api/v1/conversations/"+convID+"/messages")) == len(inbound)
	}, 15*time.Second, 50*time.Millisecond, "every inbound type stored")
	msgs := admin.items("/api/v1/conversations/" + convID + "/messages")
	wantTypes := []string{"text", "image", "audio", "document", "location", "contacts", "interactive", "unsupported"}
	for i, m := range msgs {
		require.Equal(t, wantTypes[i], m["type"], "message %d", i)
	}
	require.Equal(t, "foto", msgs[1]["text"])
	require.Equal(t, true, msgs[2]["media"].(map[string]any)["voice"])
	require.Equal(t, "Sim", msgs[6]["text"])

	// Inbound media is downloaded once into our store and retrievable.
	var mediaID string
	require.Eventually(t, func() bool {
		m := admin.items("/api/v1/conversations/" + convID + "/messages")[1]
		id, _ := m["media"].(map[string]any)["media_id"].(string)
		mediaID = id
		return id != ""
	}, 15*time.Second, 100*time.Millisecond, "image fetched into the media store")
	status, raw = admin.do(http.MethodGet, "/api/v1/media/"+mediaID, nil)
	require.Equal(t, http.StatusOK, status, string(raw))
	var media struct {
		URL string `json:"url"`
	}
	require.NoError(t, json.Unmarshal(raw, &media))
	res, err := http.Get(absolute(admin.base, media.URL))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, onePixelPNG, body, "the stored bytes are the customer's")

	// The composer's template picker lists the sandbox's approved templates.
	templates := admin.items("/api/v1/connections/" + connID.String() + "/templates")
	require.NotEmpty(t, templates)
	names := map[any]bool{}
	for _, tpl := range templates {
		names[tpl["name"]] = true
	}
	require.True(t, names["boas_vindas"], "templates: %v", templates)

	// Outbound: text, an uploaded image, a template.
	upload := uploadMedia(t, admin, "produto.png", onePixelPNG)
	sends := []map[string]any{
		{"type": "text", "text": "Oi Maria, como posso ajudar?", "idempotency_key": "e2e-1"},
		{"type": "image", "media_id": upload, "text": "nosso produto", "idempotency_key": "e2e-2"},
		{"type": "template", "template": map[string]any{"name": "boas_vindas", "language": map[string]any{"code": "pt_BR"}}, "idempotency_key": "e2e-3"},
		{"type": "location", "location": map[string]any{"latitude": lat, "longitude": lng, "name": "Nossa loja", "address": "Praça da Sé, 1"}, "idempotency_key": "e2e-4"},
		{"type": "contacts", "contacts": []map[string]any{{"name": map[string]any{"formatted_name": "Suporte Loja"}, "phones": []map[string]any{{"phone": "+55 11 3000-0000", "type": "WORK"}}}}, "idempotency_key": "e2e-5"},
		{"type": "reaction", "reaction": map[string]any{"message_id": msgs[0]["id"], "emoji": "👍"}, "idempotency_key": "e2e-6"},
		{"type": "interactive", "interactive": map[string]any{"type": "button", "body": "Podemos confirmar?", "buttons": []map[string]any{{"id": "sim", "title": "Sim"}, {"id": "nao", "title": "Não"}}}, "idempotency_key": "e2e-7"},
		{"type": "interactive", "interactive": map[string]any{"type": "list", "body": "Escolha um horário", "list_button": "Horários", "sections": []map[string]any{{"title": "Amanhã", "rows": []map[string]any{{"id": "9h", "title": "09:00"}, {"id": "14h", "title": "14:00"}}}}}, "idempotency_key": "e2e-8"},
		{"type": "text", "text": "Respondendo a sua foto", "reply_to_id": msgs[1]["id"], "idempotency_key": "e2e-9"},
	}
	var sentIDs []string
	for _, s := range sends {
		status, raw := admin.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", s)
		require.Equal(t, http.StatusAccepted, status, "%v: %s", s["type"], raw)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		sentIDs = append(sentIDs, m["id"].(string))
	}
	require.Eventually(t, func() bool {
		read := 0
		for _, m := range admin.items("/api/v1/conversations/" + convID + "/messages?limit=50") {
			for _, id := range sentIDs {
				if m["id"] == id && m["status"] == "read" {
					read++
				}
			}
		}
		return read == len(sends)
	}, 20*time.Second, 100*time.Millisecond, "every outbound message comes back delivered and read")
	status, raw = admin.do(http.MethodGet, "/sandbox/api/"+connID.String()+"/outbox", nil)
	require.Equal(t, http.StatusOK, status, string(raw))
	var outbox struct {
		Items []struct {
			Type     string          `json:"type"`
			Request  json.RawMessage `json:"request"`
			Statuses []string        `json:"statuses"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(raw, &outbox))
	require.Len(t, outbox.Items, len(sends), "each send reached the sandbox once")
	for i, item := range outbox.Items {
		require.Equal(t, sends[i]["type"], item.Type)
		var req map[string]any
		require.NoError(t, json.Unmarshal(item.Request, &req))
		if sends[i]["reply_to_id"] != nil {
			require.NotEmpty(t, req["context"].(map[string]any)["message_id"], "a reply carries its context")
		}
		require.Equal(t, "whatsapp", req["messaging_product"], "Meta's wire format")
		require.Equal(t, "5511987654321", req["to"])
		if item.Type != "reaction" { // reactions get a sent status only
			require.Equal(t, []string{"sent", "delivered", "read"}, item.Statuses, item.Type)
		}
	}
	require.Zero(t, trapHits.Load(), "the server called the address a Host header named")
}

func absolute(base, u string) string {
	if len(u) > 0 && u[0] == '/' {
		return base + u
	}
	return u
}

func uploadMedia(t *testing.T, c client, name string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreateFormFile("file", name)
	require.NoError(t, err)
	_, _ = part.Write(data)
	require.NoError(t, w.Close())
	req, _ := http.NewRequest(http.MethodPost, c.base+"/api/v1/media", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusCreated, res.StatusCode, string(raw))
	var out struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	return out.ID
}
