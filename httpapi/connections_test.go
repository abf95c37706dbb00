package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels/providers"
	"crm/persistence"
)

func testSealer(t testing.TB, key byte, previous ...byte) *crm.Sealer {
	t.Helper()
	var prev [][]byte
	for _, p := range previous {
		prev = append(prev, bytes.Repeat([]byte{p}, 32))
	}
	sealer, err := crm.NewSealer(bytes.Repeat([]byte{key}, 32), prev...)
	require.NoError(t, err)
	return sealer
}

func newConnectionEnv(t *testing.T, mutate ...func(*Config)) *testEnv {
	t.Helper()
	sealer := testSealer(t, 's')
	return newTestEnv(t, append([]func(*Config){func(c *Config) {
		c.Sealer = sealer
		c.PublicURL = "https://crm.example.com/"
	}}, mutate...)...)
}

// Secrets the tests give; none may ever appear in an answer or audit row.
var connectionTestSecrets = []string{"EAAG-secret-access-token-123", "app-secret-456", "uaz-instance-token-789",
	"evo-api-key-000", "EAAG-rotated-token-abc"}

func requireNoSecrets(t *testing.T, where string, raw []byte) {
	t.Helper()
	for _, secret := range connectionTestSecrets {
		require.False(t, bytes.Contains(raw, []byte(secret)), "%s contains the secret %q: %s", where, secret, raw)
	}
}

func metaWhatsAppConnection(name string) map[string]any {
	return map[string]any{"name": name, "channel": "whatsapp", "provider": "meta",
		"credentials": map[string]any{"access_token": "EAAG-secret-access-token-123", "app_secret": "app-secret-456",
			"phone_number_id": "106540352242922", "waba_id": "102290129340398"},
		"settings": map[string]any{"api_version": "v21.0"}}
}

func TestConnectionCRUD(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	acme := env.tenant("acme")
	sealer := env.srv.cfg.Sealer
	var bodies [][]byte
	keep := func(res response) response { bodies = append(bodies, res.Body); return res }

	res := keep(env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("Recepção")))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	conn := res.JSON()
	id := conn["id"].(string)
	require.Equal(t, "Recepção", conn["name"])
	require.Equal(t, "whatsapp", conn["channel"])
	require.Equal(t, "meta", conn["provider"])
	require.Equal(t, "disconnected", conn["status"])
	require.Equal(t, "106540352242922", conn["external_id"])
	require.Equal(t, "https://crm.example.com/webhooks/meta/"+id, conn["webhook_url"])
	require.Len(t, conn["verify_token"], 32)
	require.ElementsMatch(t, []any{"access_token", "app_secret", "phone_number_id", "waba_id"}, conn["credentials_set"])
	require.Nil(t, conn["credentials"])
	require.Nil(t, conn["app_secret"], "only a sandbox shows an app secret")
	require.Equal(t, map[string]any{"api_version": "v21.0"}, conn["settings"])
	require.Contains(t, conn, "last_event_at")
	require.Contains(t, conn, "last_error")

	res = keep(env.do(http.MethodGet, "/api/v1/connections/"+id, acme.AdminToken, nil))
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, conn["verify_token"], res.JSON()["verify_token"])

	res = keep(env.do(http.MethodGet, "/api/v1/connections", acme.AdminToken, nil))
	require.Equal(t, http.StatusOK, res.Status)
	require.Len(t, res.Items(), 1)
	require.Equal(t, conn["webhook_url"], res.Items()[0]["webhook_url"])

	// Credentials merge key by key; settings too, null removing one.
	res = keep(env.do(http.MethodPatch, "/api/v1/connections/"+id, acme.AdminToken, map[string]any{
		"name": "Recepção 2", "credentials": map[string]any{"access_token": "EAAG-rotated-token-abc"},
		"settings": map[string]any{"api_version": nil, "timeout_seconds": 20}}))
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "Recepção 2", res.JSON()["name"])
	require.Equal(t, map[string]any{"timeout_seconds": float64(20)}, res.JSON()["settings"])
	connID := uuid.MustParse(id)
	sec, err := persistence.LoadConnection(context.Background(), env.db, sealer, acme.ID, connID)
	require.NoError(t, err)
	require.Equal(t, "EAAG-rotated-token-abc", sec.Credentials["access_token"])
	require.Equal(t, "app-secret-456", sec.Credentials["app_secret"])
	require.Equal(t, 20*time.Second, providers.SettingsOf(sec).Timeout)
	require.Equal(t, "EAAG-rotated-token-abc", providers.CredentialsOf(sec).AccessToken)
	require.Equal(t, conn["verify_token"], sec.VerifyToken)
	require.NotContains(t, sec.String(), "EAAG")

	// The webhook path finds it without a tenant.
	hook, err := persistence.LoadConnectionForWebhook(context.Background(), env.db, sealer, connID)
	require.NoError(t, err)
	require.Equal(t, acme.ID, hook.TenantID)
	require.False(t, hook.Deleted)
	require.Equal(t, "app-secret-456", hook.Credentials["app_secret"])
	lookup, err := WebhookConnectionsFromDB(env.db, sealer, env.srv.cfg.Providers)(context.Background(), connID)
	require.NoError(t, err)
	require.Equal(t, "106540352242922", lookup.ExternalID)
	require.NotNil(t, lookup.Adapter)

	// Soft delete: 204, then gone from the API and the webhook lookup.
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/connections/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/connections/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/connections/"+id, acme.AdminToken, nil).Status)
	require.Empty(t, env.do(http.MethodGet, "/api/v1/connections", acme.AdminToken, nil).Items())
	hook, err = persistence.LoadConnectionForWebhook(context.Background(), env.db, sealer, connID)
	require.NoError(t, err)
	require.True(t, hook.Deleted)
	_, err = WebhookConnectionsFromDB(env.db, sealer, env.srv.cfg.Providers)(context.Background(), connID)
	require.ErrorIs(t, err, crm.ErrNotFound)
	_, err = persistence.LoadConnectionForWebhook(context.Background(), env.db, sealer, crm.NewID())
	require.ErrorIs(t, err, crm.ErrNotFound)
	// The row stays (history), and its name can be used again.
	var deleted bool
	require.NoError(t, env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT deleted_at IS NOT NULL FROM connections WHERE id = $1`, connID).Scan(&deleted)
	}))
	require.True(t, deleted)
	res = keep(env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("Recepção 2")))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("Recepção 2"))
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))

	audit := directoryAudit(t, env, acme.ID, "connection", connID)
	require.Len(t, audit, 3)
	require.Equal(t, []string{"create", "update", "delete"}, []string{audit[0].Action, audit[1].Action, audit[2].Action})
	require.Equal(t, acme.AdminEmail, audit[0].ActorEmail)
	for _, row := range audit {
		requireNoSecrets(t, "audit row", []byte(row.Before+row.After))
		require.NotContains(t, row.Before+row.After, conn["verify_token"].(string), "the verify token is masked in the audit")
	}
	for _, body := range bodies {
		requireNoSecrets(t, "response", body)
	}
}

func TestConnectionSecretsSealedAndNeverReturned(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	acme := env.tenant("acme")
	ctx := context.Background()
	var bodies [][]byte
	create := func(body map[string]any) string {
		res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, body)
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		bodies = append(bodies, res.Body)
		return res.JSON()["id"].(string)
	}
	ids := []string{
		create(metaWhatsAppConnection("wa")),
		create(map[string]any{"name": "ig", "channel": "instagram", "provider": "meta", "credentials": map[string]any{
			"access_token": "EAAG-secret-access-token-123", "app_secret": "app-secret-456", "ig_account_id": "17841400000000000"}}),
		create(map[string]any{"name": "fb", "channel": "messenger", "provider": "meta", "credentials": map[string]any{
			"access_token": "EAAG-secret-access-token-123", "app_secret": "app-secret-456", "page_id": "1029384756"}}),
		create(map[string]any{"name": "uaz", "channel": "whatsapp", "provider": "uazapi", "credentials": map[string]any{
			"base_url": "https://acme.uazapi.com", "instance_token": "uaz-instance-token-789"}}),
		create(map[string]any{"name": "evo", "channel": "whatsapp", "provider": "evolution", "credentials": map[string]any{
			"base_url": "https://evo.example.com", "api_key": "evo-api-key-000", "instance": "acme-main"}}),
	}
	for _, id := range ids {
		for _, path := range []string{"/api/v1/connections/" + id, "/api/v1/connections"} {
			res := env.do(http.MethodGet, path, acme.AdminToken, nil)
			require.Equal(t, http.StatusOK, res.Status)
			bodies = append(bodies, res.Body)
		}
		res := env.do(http.MethodPatch, "/api/v1/connections/"+id, acme.AdminToken, map[string]any{"name": "renamed " + id[len(id)-12:]})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		bodies = append(bodies, res.Body)
	}
	for _, body := range bodies {
		requireNoSecrets(t, "response", body)
	}

	// The raw rows hold sealed bytes, not the tokens; the audit log holds none.
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c::text, credentials FROM connections c`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var text string
			var sealed []byte
			require.NoError(t, rows.Scan(&text, &sealed))
			require.NotEmpty(t, sealed)
			requireNoSecrets(t, "connections row", []byte(text))
			requireNoSecrets(t, "sealed credentials", sealed)
		}
		rows.Close()
		var audit string
		if err := tx.QueryRow(ctx, `SELECT coalesce(string_agg(a::text, ' '), '') FROM audit_log a`).Scan(&audit); err != nil {
			return err
		}
		require.Contains(t, audit, "connection")
		requireNoSecrets(t, "audit log", []byte(audit))
		return rows.Err()
	}))

	// Webhook URLs by provider; external ids from the account credential.
	list := env.do(http.MethodGet, "/api/v1/connections?limit=2", acme.AdminToken, nil)
	require.NotNil(t, list.JSON()["next_cursor"])
	all := directoryWalk(t, env, "/api/v1/connections?limit=2", acme.AdminToken)
	require.Len(t, all, 5)
	byName := map[string]map[string]any{}
	for _, c := range all {
		byName[c["provider"].(string)+"/"+c["channel"].(string)] = c
	}
	uaz := byName["uazapi/whatsapp"]
	require.Regexp(t, `^https://crm\.example\.com/webhooks/uazapi/`+uaz["id"].(string)+`/[0-9a-f]{48}$`, uaz["webhook_url"])
	require.ElementsMatch(t, []any{"base_url", "instance_token"}, uaz["credentials_set"])
	evo := byName["evolution/whatsapp"]
	require.Regexp(t, `^https://crm\.example\.com/webhooks/evolution/`+evo["id"].(string)+`/[0-9a-f]{48}$`, evo["webhook_url"])
	require.Equal(t, "acme-main", evo["external_id"])
	require.Equal(t, "17841400000000000", byName["meta/instagram"]["external_id"])
	require.Equal(t, "1029384756", byName["meta/messenger"]["external_id"])
	sec, err := persistence.LoadConnection(ctx, env.db, env.srv.cfg.Sealer, acme.ID, uuid.MustParse(evo["id"].(string)))
	require.NoError(t, err)
	creds := providers.CredentialsOf(sec)
	require.Equal(t, "evo-api-key-000", creds.InstanceToken)
	require.Equal(t, "acme-main", creds.InstanceName)

	// A sealed value copied to another row does not open (the id is the AAD).
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE id = $1) WHERE id = $2`,
			uuid.MustParse(ids[0]), uuid.MustParse(ids[1]))
		return err
	}))
	_, err = persistence.LoadConnection(ctx, env.db, env.srv.cfg.Sealer, acme.ID, uuid.MustParse(ids[1]))
	require.ErrorIs(t, err, crm.ErrUnseal)
}

func TestConnectionValidation(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	acme := env.tenant("acme")
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"missing credentials", map[string]any{"name": "x", "channel": "whatsapp", "provider": "meta",
			"credentials": map[string]any{"app_secret": "s"}},
			[]string{"credentials.access_token", "credentials.phone_number_id", "credentials.waba_id"}},
		{"unknown credential", map[string]any{"name": "x", "channel": "messenger", "provider": "meta",
			"credentials": map[string]any{"access_token": "t", "app_secret": "s", "page_id": "1", "phone_number_id": "2"}},
			[]string{"credentials.phone_number_id"}},
		{"uazapi on instagram", map[string]any{"name": "x", "channel": "instagram", "provider": "uazapi",
			"credentials": map[string]any{"base_url": "https://x.uazapi.com", "instance_token": "t"}}, []string{"provider"}},
		{"evolution on messenger", map[string]any{"name": "x", "channel": "messenger", "provider": "evolution"}, []string{"provider"}},
		{"sandbox on instagram", map[string]any{"name": "x", "channel": "instagram", "provider": "sandbox"}, []string{"provider"}},
		{"unknown channel", map[string]any{"name": "x", "channel": "telegram", "provider": "meta"}, []string{"channel"}},
		{"unknown provider", map[string]any{"name": "x", "channel": "whatsapp", "provider": "twilio"}, []string{"provider"}},
		{"bad base url", map[string]any{"name": "x", "channel": "whatsapp", "provider": "uazapi",
			"credentials": map[string]any{"base_url": "ftp://x", "instance_token": "t"}}, []string{"credentials.base_url"}},
		{"sandbox with credentials", map[string]any{"name": "x", "channel": "whatsapp", "provider": "sandbox",
			"credentials": map[string]any{"access_token": "t"}}, []string{"credentials"}},
		{"bad settings", map[string]any{"name": "x", "channel": "whatsapp", "provider": "sandbox",
			"settings": map[string]any{"api_version": "21", "color": "red"}},
			[]string{"settings.api_version", "settings.color"}},
		{"no name", map[string]any{"name": " ", "channel": "whatsapp", "provider": "sandbox"}, []string{"name"}},
	}
	for _, tc := range cases {
		res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", tc.name, res.Body)
		fields := directoryFieldErrors(t, res)
		for _, f := range tc.fields {
			require.Contains(t, fields, f, "%s: %s", tc.name, res.Body)
		}
	}
	res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "x", "channel": "whatsapp",
		"provider": "meta", "secret": "nope"})
	require.Equal(t, http.StatusBadRequest, res.Status)

	// PATCH validates the merged credentials and refuses channel changes.
	res = env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("wa"))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := res.JSON()["id"].(string)
	res = env.do(http.MethodPatch, "/api/v1/connections/"+id, acme.AdminToken, map[string]any{"credentials": map[string]any{"access_token": ""}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "credentials.access_token")
	res = env.do(http.MethodPatch, "/api/v1/connections/"+id, acme.AdminToken, map[string]any{"channel": "instagram"})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	res = env.do(http.MethodPatch, "/api/v1/connections/"+id, acme.AdminToken, map[string]any{"settings": map[string]any{"timeout_seconds": -1}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "settings.timeout_seconds")

	// Agents may not manage connections; supervisors may read them.
	_, agent := env.user(acme, crm.RoleAgent, "agent")
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/connections", agent, nil).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, "/api/v1/connections", agent, metaWhatsAppConnection("a")).Status)
	_, supervisor := env.user(acme, crm.RoleSupervisor, "super")
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/connections/"+id, supervisor, nil).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodDelete, "/api/v1/connections/"+id, supervisor, nil).Status)
}

func TestConnectionCrossTenant(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection("wa"))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := res.JSON()["id"].(string)

	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/connections/"+id, globex.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPatch, "/api/v1/connections/"+id, globex.AdminToken,
		map[string]any{"name": "mine"}).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/connections/"+id, globex.AdminToken, nil).Status)
	require.Empty(t, env.do(http.MethodGet, "/api/v1/connections", globex.AdminToken, nil).Items())
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/connections/not-a-uuid", acme.AdminToken, nil).Status)
	_, err := persistence.LoadConnection(context.Background(), env.db, env.srv.cfg.Sealer, globex.ID, uuid.MustParse(id))
	require.ErrorIs(t, err, crm.ErrNotFound)
	// Still intact for its owner.
	res = env.do(http.MethodGet, "/api/v1/connections/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "wa", res.JSON()["name"])
}

func TestConnectionSandboxSecretShownOnce(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	acme := env.tenant("acme")
	res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, map[string]any{"name": "Sandbox", "channel": "whatsapp",
		"provider": "sandbox"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	conn := res.JSON()
	id := conn["id"].(string)
	secret, _ := conn["app_secret"].(string)
	require.Len(t, secret, 48)
	require.Equal(t, "connected", conn["status"])
	require.Equal(t, "https://crm.example.com/webhooks/sandbox/"+id, conn["webhook_url"])
	require.Equal(t, "https://crm.example.com/sandbox/graph", conn["settings"].(map[string]any)["graph_base_url"])
	require.ElementsMatch(t, []any{"access_token", "app_secret", "phone_number_id", "waba_id"}, conn["credentials_set"])
	require.Regexp(t, `^[1-9][0-9]{14}$`, conn["external_id"])

	for _, path := range []string{"/api/v1/connections/" + id, "/api/v1/connections"} {
		res = env.do(http.MethodGet, path, acme.AdminToken, nil)
		require.Equal(t, http.StatusOK, res.Status)
		require.NotContains(t, string(res.Body), secret)
		require.NotContains(t, string(res.Body), "app_secret\":")
	}
	sec, err := persistence.LoadConnection(context.Background(), env.db, env.srv.cfg.Sealer, acme.ID, uuid.MustParse(id))
	require.NoError(t, err)
	require.Equal(t, secret, sec.Credentials["app_secret"])
	tokenID, ok := providers.SandboxConnectionID(sec.Credentials["access_token"])
	require.True(t, ok)
	require.Equal(t, id, tokenID.String())
	for _, row := range directoryAudit(t, env, acme.ID, "connection", uuid.MustParse(id)) {
		require.NotContains(t, row.After, secret)
		require.NotContains(t, row.After, sec.Credentials["access_token"])
	}
	res = env.do(http.MethodPatch, "/api/v1/connections/"+id, acme.AdminToken, map[string]any{"credentials": map[string]any{"app_secret": "mine"}})
	require.Equal(t, http.StatusBadRequest, res.Status)

	// The demo seed: idempotent, one sandbox connection.
	first, err := EnsureDemoSandboxConnection(context.Background(), env.db, env.srv.cfg.Sealer, acme.ID, "http://localhost:8080")
	require.NoError(t, err)
	require.Equal(t, id, first.String(), "an existing sandbox connection is kept")
	globex := env.tenant("globex")
	made, err := EnsureDemoSandboxConnection(context.Background(), env.db, env.srv.cfg.Sealer, globex.ID, "http://localhost:8080/")
	require.NoError(t, err)
	again, err := EnsureDemoSandboxConnection(context.Background(), env.db, env.srv.cfg.Sealer, globex.ID, "http://localhost:8080")
	require.NoError(t, err)
	require.Equal(t, made, again)
	sec, err = persistence.LoadConnection(context.Background(), env.db, env.srv.cfg.Sealer, globex.ID, made)
	require.NoError(t, err)
	require.Equal(t, "sandbox", sec.Provider)
	require.Equal(t, "http://localhost:8080/sandbox/graph", providers.SettingsOf(sec).GraphBaseURL)
}

func TestConnectionRotateSecrets(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	acme := env.tenant("acme")
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		res := env.do(http.MethodPost, "/api/v1/connections", acme.AdminToken, metaWhatsAppConnection(name))
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}
	oldKey := env.srv.cfg.Sealer
	rotating := testSealer(t, 'n', 's') // new key, old one still accepted
	n, err := persistence.RotateConnectionSecrets(ctx, env.db, rotating)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = persistence.RotateConnectionSecrets(ctx, env.db, rotating)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to rotate")

	newOnly := testSealer(t, 'n')
	page, err := persistence.ListConnections(ctx, env.db, newOnly, acme.ID, persistence.ConnectionFilter{})
	require.NoError(t, err)
	require.Len(t, page.Items, 3)
	for _, c := range page.Items {
		sec, err := persistence.LoadConnection(ctx, env.db, newOnly, acme.ID, c.ID)
		require.NoError(t, err)
		require.Equal(t, "EAAG-secret-access-token-123", sec.Credentials["access_token"])
		_, err = persistence.LoadConnection(ctx, env.db, oldKey, acme.ID, c.ID)
		require.Error(t, err, "the old key alone no longer opens it")
	}
}

func TestConnectionFeatureDisabled(t *testing.T) {
	t.Parallel()
	env := newConnectionEnv(t)
	ctx := context.Background()
	planID, err := env.db.CreatePlan(ctx, persistence.NewPlan{Name: "basic-no-social", MonthlyPrice: "9.90",
		Limits:   crm.PlanLimits{Users: 10, Connections: 1, Contacts: 100, MonthlyConversations: 100, MonthlyCampaigns: 1},
		Features: crm.PlanFeatures{}})
	require.NoError(t, err)
	hash, err := crm.HashPassword(testPassword)
	require.NoError(t, err)
	_, _, err = env.db.CreateTenant(ctx, persistence.NewTenant{Name: "Basic", Slug: "basic", Email: "admin@basic.test",
		PlanID: planID, AdminName: "Admin", AdminEmail: "admin@basic.test", AdminPasswordHash: hash})
	require.NoError(t, err)
	token := env.login("admin@basic.test", testPassword)

	for _, channel := range []string{"instagram", "messenger"} {
		res := env.do(http.MethodPost, "/api/v1/connections", token, map[string]any{"name": channel, "channel": channel, "provider": "meta",
			"credentials": map[string]any{"access_token": "t", "app_secret": "s", "page_id": "1", "ig_account_id": "2"}})
		require.Equal(t, http.StatusPaymentRequired, res.Status, string(res.Body))
		require.Equal(t, "feature_disabled", res.ErrorCode())
	}
	// One connection allowed: the second is the plan's limit.
	res := env.do(http.MethodPost, "/api/v1/connections", token, metaWhatsAppConnection("one"))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/connections", token, metaWhatsAppConnection("two"))
	require.Equal(t, http.StatusPaymentRequired, res.Status, string(res.Body))
	require.Equal(t, "plan_limit", res.ErrorCode())
	require.True(t, strings.Contains(string(res.Body), "connections"))
}
