package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// trapServer stands for an address the server must never call (the
// database's port, an internal service, cloud metadata): it counts what
// reaches it and answers like a friendly Graph API, so a call that reached
// it would succeed and go unnoticed but for the count.
func trapServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"id":"1","name":"internal","language":"pt_BR","status":"APPROVED","category":"UTILITY","components":[]}],"paging":{}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// doWithHost is env.do with the Host header the caller chooses.
func (e *testEnv) doWithHost(host, method, path, token string, body any) response {
	e.t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(e.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, reader)
	require.NoError(e.t, err)
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{t: e.t, Status: res.StatusCode, Header: res.Header, Body: raw}
}

// TestHostHeaderNeverNamesOurURLs (issue #14, item 1): whatever Host a
// request names, the webhook URLs shown are the public URL's, and the
// sandbox (simulator and fake Graph API) delivers to this node, never to
// the Host: a hostile Host made the server POST to any address (a port
// scanner, with the 500s telling open from closed).
func TestHostHeaderNeverNamesOurURLs(t *testing.T) {
	t.Parallel()
	trap, hits := trapServer(t)
	hostile := strings.TrimPrefix(trap.URL, "http://")
	env := newSandboxEnv(t)
	public := strings.TrimRight(env.srv.cfg.PublicURL, "/")
	_, agent := env.user(env.acme, crm.RoleAgent, "agent")

	res := env.doWithHost(hostile, http.MethodPost, "/api/v1/connections", env.acme.AdminToken, map[string]any{"name": "sb",
		"channel": "whatsapp", "provider": "sandbox", "settings": map[string]any{"sandbox_status_delays_ms": []int{1, 1, 1}}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := res.JSON()["id"].(string)
	require.NotEmpty(t, public)
	require.Equal(t, public+"/webhooks/sandbox/"+id, res.JSON()["webhook_url"])
	require.Equal(t, public+"/sandbox/graph", res.JSON()["settings"].(map[string]any)["graph_base_url"])
	res = env.doWithHost(hostile, http.MethodGet, "/api/v1/connections/"+id, env.acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, public+"/webhooks/sandbox/"+id, res.JSON()["webhook_url"])
	res = env.doWithHost(hostile, http.MethodGet, "/api/v1/connections", env.acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.NotContains(t, string(res.Body), hostile)

	// The simulator, called by an agent with the hostile Host, posts to us.
	res = env.doWithHost(hostile, http.MethodPost, "/api/v1/sandbox/"+id+"/inbound", agent, map[string]any{
		"from": "5511987654321", "type": "image", "media": map[string]any{"mime_type": "image/jpeg", "data_base64": "/9j/4AAQ"}})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	require.EqualValues(t, http.StatusOK, res.JSON()["webhook_status"])
	mediaID := res.JSON()["media_id"].(string)
	checkFor(t, 5*time.Second, func() error {
		if len(env.dispatched()) == 0 {
			return fmt.Errorf("nothing dispatched")
		}
		return nil
	})

	// The fake Graph API, called with the hostile Host (it is public: a
	// bearer token is all it asks), names its media URLs after this node and
	// posts its status webhooks here.
	sec, err := persistence.LoadConnection(context.Background(), env.db, env.srv.cfg.Sealer, env.acme.ID, uuid.MustParse(id))
	require.NoError(t, err)
	token, phone := sec.Credentials["access_token"], sec.Credentials["phone_number_id"]
	res = env.doWithHost(hostile, http.MethodGet, "/sandbox/graph/v21.0/"+mediaID, token, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.True(t, strings.HasPrefix(res.JSON()["url"].(string), strings.TrimRight(env.srv.cfg.SelfURL, "/")+"/sandbox/graph/"), res.JSON()["url"])
	res = env.doWithHost(hostile, http.MethodPost, "/sandbox/graph/v21.0/"+phone+"/messages", token, map[string]any{
		"messaging_product": "whatsapp", "to": "5511987654321", "type": "text", "text": map[string]any{"body": "oi"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	wamid := res.JSON()["messages"].([]any)[0].(map[string]any)["id"].(string)
	checkFor(t, 5*time.Second, func() error {
		for _, d := range env.dispatched() {
			if st := d.Event.GetStatusUpdate(); st != nil && st.ExternalMessageId == wamid && st.Status.String() == "DELIVERY_STATUS_READ" {
				return nil
			}
		}
		return fmt.Errorf("no read status for %s among %d events", wamid, len(env.dispatched()))
	})
	require.Zero(t, hits.Load(), "the server called the address the Host header named")
}

// TestTenantCannotAimProvidersAtPrivateAddresses (issue #14, item 2): a
// tenant admin cannot make the server call loopback, private or link-local
// addresses with the connection's token: such base URLs are refused when
// saved, graph_base_url is not theirs to set, and whatever is stored (a row
// from before these checks) is refused when the server dials.
func TestTenantCannotAimProvidersAtPrivateAddresses(t *testing.T) {
	t.Parallel()
	trap, hits := trapServer(t)
	env := newConnectionEnv(t) // CRM_ALLOW_PRIVATE_PROVIDER_URLS unset
	acme := env.tenant("acme")
	ctx := context.Background()

	for _, base := range []string{"http://127.0.0.1:5432", "http://10.0.0.8:8080", "http://169.254.169.254/latest/meta-data",
		"http://[::1]:6379", "http://localhost:8080", trap.URL} {
		res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "uaz", "channel": "whatsapp",
			"provider": "uazapi", "credentials": map[string]any{"base_url": base, "instance_token": "tok"}})
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", base, res.Body)
		require.Contains(t, directoryFieldErrors(t, res), "credentials.base_url", base)
	}
	res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "evo", "channel": "whatsapp",
		"provider": "evolution", "credentials": map[string]any{"base_url": "http://169.254.169.254", "api_key": "k", "instance": "i"}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "uaz", "channel": "whatsapp",
		"provider": "uazapi", "credentials": map[string]any{"base_url": "https://acme.uazapi.com", "instance_token": "tok"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	res = env.do(http.MethodPatch, "/api/v1/connections/"+res.JSON()["id"].(string), acme.AdminToken,
		map[string]any{"credentials": map[string]any{"base_url": "http://192.168.0.1"}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "credentials.base_url")

	// graph_base_url is the platform owner's, on create and on update.
	withGraph := metaWhatsAppConnection("meta")
	withGraph["settings"] = map[string]any{"graph_base_url": "http://169.254.169.254"}
	res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, withGraph)
	require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
	require.Equal(t, "graph_base_url_forbidden", res.ErrorCode())
	res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "sb", "channel": "whatsapp",
		"provider": "sandbox", "settings": map[string]any{"graph_base_url": trap.URL}})
	require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("meta"))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	metaID := res.JSON()["id"].(string)
	res = env.do(http.MethodPatch, "/api/v1/connections/"+metaID, acme.AdminToken,
		map[string]any{"settings": map[string]any{"graph_base_url": trap.URL}})
	require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
	require.Equal(t, "graph_base_url_forbidden", res.ErrorCode())

	// Rows saved before these checks: the dial is refused, nothing reaches
	// the address, and the admin is told why.
	stored := func(name, provider string, creds map[string]string, settings map[string]any) string {
		created, err := CreateConnection(ctx, env.db, env.srv.cfg.Sealer, acme.ID, persistence.AuditEntry{},
			NewConnection{Name: name, Channel: "whatsapp", Provider: provider, Credentials: creds, Settings: settings,
				SandboxBaseURL: env.srv.cfg.PublicURL})
		require.NoError(t, err)
		return created.ID.String()
	}
	metaCreds := map[string]string{"access_token": "EAAG-secret-access-token-123", "app_secret": "s", "phone_number_id": "1065403522",
		"waba_id": "1022901293"}
	for _, graph := range []string{trap.URL, "http://169.254.169.254", "http://10.1.2.3:8080"} {
		id := stored("old meta "+graph, "meta", metaCreds, map[string]any{"graph_base_url": graph})
		res = env.do(http.MethodGet, "/api/v1/connections/"+id+"/templates", acme.AdminToken, nil)
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s: %s", graph, res.Body)
		require.Equal(t, "provider_address_forbidden", res.ErrorCode())
	}
	uaz := stored("old uazapi", "uazapi", map[string]string{"base_url": trap.URL, "instance_token": "inst-secret"}, nil)
	res = env.do(http.MethodPost, "/api/v1/connections/"+uaz+"/connect", acme.AdminToken, map[string]any{})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	require.Equal(t, "provider_address_forbidden", res.ErrorCode())
	// A sandbox connection's stored graph_base_url is not followed at all:
	// its adapter talks to this server's own sandbox.
	sandboxID := stored("old sandbox", "sandbox", nil, map[string]any{"graph_base_url": trap.URL})
	res = env.do(http.MethodGet, "/api/v1/connections/"+sandboxID+"/templates", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.NotContains(t, string(res.Body), `"internal"`)
	require.NotEmpty(t, res.Items())

	require.Zero(t, hits.Load(), "a provider call reached a private address")
}

// TestPlatformOwnerSetsGraphBaseURL: the platform owner may point a Meta
// connection at another Graph API; private addresses stay refused unless the
// operator allows them (CRM_ALLOW_PRIVATE_PROVIDER_URLS), and then they are
// reached.
func TestPlatformOwnerSetsGraphBaseURL(t *testing.T) {
	t.Parallel()
	for _, allowPrivate := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow private %v", allowPrivate), func(t *testing.T) {
			t.Parallel()
			trap, hits := trapServer(t)
			var mutate []func(*Config)
			if allowPrivate {
				mutate = append(mutate, allowPrivateProviders)
			}
			env := newConnectionEnv(t, mutate...)
			acme := env.tenant("acme")
			owner := env.superAdmin()
			res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("meta"))
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			id := res.JSON()["id"].(string)
			path := "/api/v1/admin/connections/" + id

			require.Equal(t, http.StatusForbidden, env.do(http.MethodPatch, path, acme.AdminToken,
				map[string]any{"graph_base_url": trap.URL}).Status, "a platform route")
			res = env.do(http.MethodPatch, path, owner, map[string]any{"graph_base_url": "javascript:alert(1)"})
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			res = env.do(http.MethodPatch, path, owner, map[string]any{"graph_base_url": trap.URL})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Equal(t, trap.URL, res.JSON()["settings"].(map[string]any)["graph_base_url"])
			require.NotContains(t, string(res.Body), "EAAG-secret-access-token-123")

			res = env.do(http.MethodGet, "/api/v1/connections/"+id+"/templates", acme.AdminToken, nil)
			if allowPrivate {
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				require.Equal(t, "internal", res.Items()[0]["name"])
				require.EqualValues(t, 1, hits.Load())
			} else {
				require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
				require.Equal(t, "provider_address_forbidden", res.ErrorCode())
				require.Zero(t, hits.Load())
			}

			res = env.do(http.MethodPatch, path, owner, map[string]any{"graph_base_url": nil})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.NotContains(t, res.JSON()["settings"], "graph_base_url")

			res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "sb", "channel": "whatsapp",
				"provider": "sandbox"})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			res = env.do(http.MethodPatch, "/api/v1/admin/connections/"+res.JSON()["id"].(string), owner,
				map[string]any{"graph_base_url": "https://graph.example.com"})
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			require.Equal(t, "not_a_meta_connection", res.ErrorCode())
		})
	}
}
