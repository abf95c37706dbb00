package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"crm"
)

// fakeUazapi answers the instance calls the way uazapi does (shapes from
// the shared fixtures) and records what it was asked.
type fakeUazapi struct {
	mu        sync.Mutex
	connected bool
	calls     []string
	webhook   []byte
}

func (f *fakeUazapi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+" token="+r.Header.Get("token"))
	switch r.Method + " " + r.URL.Path {
	case "POST /webhook":
		f.webhook = body
		_, _ = w.Write([]byte(`{}`))
	case "POST /instance/connect":
		raw, _ := os.ReadFile(filepath.Join("..", "channels", "uazapi", "testdata", "connect_qr_response.json"))
		_, _ = w.Write(raw)
	case "GET /instance/status":
		if f.connected {
			_, _ = w.Write(fixtureBytes("uazapi/instance_status_response.json"))
			return
		}
		raw, _ := os.ReadFile(filepath.Join("..", "channels", "uazapi", "testdata", "connect_qr_response.json"))
		_, _ = w.Write(raw)
	default:
		http.NotFound(w, r)
	}
}

func fixtureBytes(path string) []byte {
	raw, _ := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", path))
	return raw
}

func TestUazapiPairingShowsQRThenConnected(t *testing.T) {
	t.Parallel()
	fake := &fakeUazapi{}
	gw := httptest.NewServer(fake)
	t.Cleanup(gw.Close)
	sealer, err := crm.NewSealer(bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	// The gateway is a loopback test server: the operator allows private addresses.
	env := newTestEnv(t, func(c *Config) { c.Sealer = sealer; c.PublicURL = "https://crm.example.com" }, allowPrivateProviders)
	tenant := env.tenant("pairing")
	res := env.do(http.MethodPost, "/api/v1/connections", tenant.AdminToken, map[string]any{
		"name": "WhatsApp loja", "channel": "whatsapp", "provider": "uazapi",
		"credentials": map[string]any{"base_url": gw.URL, "instance_token": "inst-secret-1"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	connID := res.JSON()["id"].(string)
	webhookURL := res.JSON()["webhook_url"].(string)

	res = env.do(http.MethodPost, "/api/v1/connections/"+connID+"/connect", tenant.AdminToken, map[string]any{})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "connecting", res.JSON()["status"])
	require.Equal(t, "data:image/png;base64,iVBORw0KGgo=", res.JSON()["qr_code"])
	require.Contains(t, string(fake.webhook), webhookURL, "the instance's webhook points at us")
	require.NotContains(t, string(res.Body), "inst-secret-1")

	fake.mu.Lock()
	fake.connected = true
	fake.mu.Unlock()
	res = env.do(http.MethodGet, "/api/v1/connections/"+connID+"/pairing", tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "connected", res.JSON()["status"])
	require.Equal(t, "Loja Exemplo", res.JSON()["profile_name"])
	for _, call := range fake.calls {
		require.Contains(t, call, "token=inst-secret-1", "every gateway call carries the instance token")
	}

	// A meta connection is not a gateway.
	meta := env.do(http.MethodPost, "/api/v1/connections", tenant.AdminToken, map[string]any{
		"name": "Cloud", "channel": "whatsapp", "provider": "meta", "credentials": map[string]any{
			"access_token": "EAAG", "app_secret": "s", "phone_number_id": "123", "waba_id": "456"}})
	require.Equal(t, http.StatusCreated, meta.Status, string(meta.Body))
	res = env.do(http.MethodPost, "/api/v1/connections/"+meta.JSON()["id"].(string)+"/connect", tenant.AdminToken, map[string]any{})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	require.Equal(t, "not_a_gateway", res.ErrorCode())
}
