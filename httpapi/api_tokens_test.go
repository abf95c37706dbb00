package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// createAPIToken creates a token through the API and returns its id and secret.
func (e *testEnv) createAPIToken(admin, name, scope string) (id, token string) {
	e.t.Helper()
	res := e.do(http.MethodPost, "/api/v1/api-tokens", admin, map[string]any{"name": name, "scope": scope})
	require.Equal(e.t, http.StatusCreated, res.Status, string(res.Body))
	body := res.JSON()
	return body["id"].(string), body["token"].(string)
}

// apiTokenLastUsed reads a token's last use straight from the database.
func apiTokenLastUsed(t *testing.T, db *persistence.DB, tenant uuid.UUID, id string) *time.Time {
	t.Helper()
	var at *time.Time
	require.NoError(t, db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT last_used_at FROM api_tokens WHERE id = $1`, id).Scan(&at)
	}))
	return at
}

// TestAPITokens: an admin creates a read and a write token; each is a
// bearer on the REST API for what its scope allows and nothing else, sees
// only its own tenant, records its last use, and stops working once revoked.
func TestAPITokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	env := newTestEnv(t, func(c *Config) { c.Now = clock })
	acme := env.tenant("acme")
	other := env.tenant("other")
	res := env.do(http.MethodPost, "/api/v1/contacts", other.AdminToken, map[string]any{"name": "Secret Other"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	otherContact := res.JSON()["id"].(string)
	res = env.do(http.MethodPost, "/api/v1/contacts", acme.AdminToken, map[string]any{"name": "Ana Acme"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))

	// Create: the answer carries the token once, in its documented shape.
	res = env.do(http.MethodPost, "/api/v1/api-tokens", acme.AdminToken, map[string]any{"name": "  ERP  ", "scope": "read"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON()
	readID, readToken := created["id"].(string), created["token"].(string)
	require.Equal(t, "ERP", created["name"])
	require.Equal(t, "read", created["scope"])
	require.Nil(t, created["last_used_at"])
	_, ok := parseAPIToken(readToken)
	require.True(t, ok, readToken)
	require.True(t, strings.HasPrefix(readToken, created["prefix"].(string)+"_"), "prefix %s of %s", created["prefix"], readToken)
	writeID, writeToken := env.createAPIToken(acme.AdminToken, "Zapier", "write")

	// Bad input: field details; a taken name conflicts.
	res = env.do(http.MethodPost, "/api/v1/api-tokens", acme.AdminToken, map[string]any{"name": "", "scope": "admin"})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	details := res.JSON()["error"].(map[string]any)["details"].(map[string]any)["fields"].(map[string]any)
	require.Contains(t, details, "name")
	require.Contains(t, details, "scope")
	res = env.do(http.MethodPost, "/api/v1/api-tokens", acme.AdminToken, map[string]any{"name": "ERP", "scope": "write"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))

	// The list never carries a secret nor a hash.
	res = env.do(http.MethodGet, "/api/v1/api-tokens", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Len(t, res.Items(), 2)
	require.NotContains(t, string(res.Body), readToken[len("crm_")+17:])
	require.NotContains(t, string(res.Body), writeToken[len("crm_")+17:])
	require.NotContains(t, string(res.Body), "token_hash")
	for _, item := range res.Items() {
		require.NotContains(t, item, "token")
	}

	// Read scope: reads, is refused writes, sees only its tenant.
	res = env.do(http.MethodGet, "/api/v1/contacts", readToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Len(t, res.Items(), 1)
	require.Equal(t, "Ana Acme", res.Items()[0]["name"])
	require.NotContains(t, string(res.Body), "Secret Other")
	res = env.do(http.MethodGet, "/api/v1/contacts/"+otherContact, readToken, nil)
	require.Equal(t, http.StatusNotFound, res.Status, string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/contacts", readToken, map[string]any{"name": "Nope"})
	require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
	require.Equal(t, "forbidden", res.ErrorCode())

	// Write scope: writes, attributed to the token in the audit log.
	res = env.do(http.MethodPost, "/api/v1/labels", writeToken, map[string]any{"name": "From API"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	res = env.do(http.MethodPatch, "/api/v1/contacts/"+otherContact, writeToken, map[string]any{"name": "Hijack"})
	require.Equal(t, http.StatusNotFound, res.Status, string(res.Body))

	// Never user or token management, the platform, nor a session's things.
	for _, call := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/api-tokens"},
		{http.MethodPost, "/api/v1/api-tokens"},
		{http.MethodDelete, "/api/v1/api-tokens/" + readID},
		{http.MethodPost, "/api/v1/users"},
		{http.MethodGet, "/api/v1/audit-log"},
		{http.MethodPost, "/api/v1/ws/ticket"},
		{http.MethodGet, "/api/v1/auth/me"},
		{http.MethodPatch, "/api/v1/auth/me"},
		{http.MethodPut, "/api/v1/auth/me/availability"},
		{http.MethodGet, "/api/v1/admin/tenants"},
		{http.MethodPatch, "/api/v1/tenant/settings"},
	} {
		res := env.do(call.method, call.path, writeToken, map[string]any{"name": "x", "scope": "write"})
		require.Equal(t, http.StatusForbidden, res.Status, "%s %s: %s", call.method, call.path, res.Body)
	}
	res = env.do(http.MethodPost, "/api/v1/ws/ticket", writeToken, nil)
	require.Equal(t, "session_only", res.ErrorCode())

	// Last use: written on first use, not again within the minute, then again.
	first := apiTokenLastUsed(t, env.db, acme.ID, readID)
	require.NotNil(t, first)
	require.True(t, first.Equal(now), "%v", first)
	now = now.Add(30 * time.Second)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/labels", readToken, nil).Status)
	require.True(t, apiTokenLastUsed(t, env.db, acme.ID, readID).Equal(*first), "not rewritten within the minute")
	now = now.Add(31 * time.Second)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/labels", readToken, nil).Status)
	require.True(t, apiTokenLastUsed(t, env.db, acme.ID, readID).Equal(now))
	res = env.do(http.MethodGet, "/api/v1/api-tokens", acme.AdminToken, nil)
	for _, item := range res.Items() {
		if item["id"] == readID {
			require.NotNil(t, item["last_used_at"])
		}
	}

	// A forged secret with a real lookup id, a malformed token: 401.
	forged := readToken[:len(readToken)-4] + "AAAA"
	if forged == readToken {
		forged = readToken[:len(readToken)-4] + "BBBB"
	}
	for _, bad := range []string{forged, "crm_nothex", "crm_" + strings.Repeat("0", 16) + "_" + strings.Repeat("A", 43)} {
		res := env.do(http.MethodGet, "/api/v1/contacts", bad, nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, bad)
		require.Equal(t, "invalid_token", res.ErrorCode())
	}

	// Another tenant's admin cannot revoke it; its own admin can, and it stops at once.
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/api-tokens/"+readID, other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/api-tokens/"+readID, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/api-tokens/"+readID, acme.AdminToken, nil).Status)
	res = env.do(http.MethodGet, "/api/v1/contacts", readToken, nil)
	require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Body))
	require.Len(t, env.do(http.MethodGet, "/api/v1/api-tokens", acme.AdminToken, nil).Items(), 1)
	// Its name is free again.
	env.createAPIToken(acme.AdminToken, "ERP", "read")

	// Create and revoke are in the audit log; the labels the token wrote name it.
	audit := env.do(http.MethodGet, "/api/v1/audit-log?entity=api_token", acme.AdminToken, nil).Items()
	actions := []string{}
	for _, rec := range audit {
		actions = append(actions, rec["action"].(string))
		require.NotContains(t, rec, readToken)
	}
	require.ElementsMatch(t, []string{"create", "create", "revoke", "create"}, actions)
	labels := env.do(http.MethodGet, "/api/v1/audit-log?entity=label", acme.AdminToken, nil).Items()
	require.Len(t, labels, 1)
	require.Equal(t, writeID, labels[0]["actor_id"])
	require.Equal(t, string(crm.RoleAPITokenWrite), labels[0]["actor_role"])
	auditBody := string(env.do(http.MethodGet, "/api/v1/audit-log", acme.AdminToken, nil).Body)
	require.NotContains(t, auditBody, writeToken[len("crm_")+17:])

	// Agents and supervisors do not manage tokens.
	_, agent := env.user(acme, crm.RoleAgent, "Agt")
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/api-tokens", agent, nil).Status)
}

// TestAPITokensNeedTheAPIFeature: a plan without the api feature can
// neither create tokens nor use the ones it has.
func TestAPITokensNeedTheAPIFeature(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	_, token := env.createAPIToken(acme.AdminToken, "ERP", "read")
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/labels", token, nil).Status)

	ctx := context.Background()
	planID, err := env.db.CreatePlan(ctx, persistence.NewPlan{Name: "no-api", MonthlyPrice: "10.00",
		Limits: planLimitsGenerous, Features: crm.PlanFeatures{Chatbot: true}})
	require.NoError(t, err)
	_, err = env.db.Pool.Exec(ctx, `UPDATE tenants SET plan_id = $2 WHERE id = $1`, acme.ID, planID)
	require.NoError(t, err)

	res := env.do(http.MethodPost, "/api/v1/api-tokens", acme.AdminToken, map[string]any{"name": "Another", "scope": "read"})
	require.Equal(t, http.StatusPaymentRequired, res.Status, string(res.Body))
	require.Equal(t, "feature_disabled", res.ErrorCode())
	res = env.do(http.MethodGet, "/api/v1/labels", token, nil)
	require.Equal(t, http.StatusPaymentRequired, res.Status, string(res.Body))
	require.Equal(t, "feature_disabled", res.ErrorCode())
	require.Equal(t, "api", res.JSON()["error"].(map[string]any)["details"].(map[string]any)["feature"])
	// The admin still sees (and can revoke) the tokens it has.
	require.Len(t, env.do(http.MethodGet, "/api/v1/api-tokens", acme.AdminToken, nil).Items(), 1)

	// A suspended company's tokens are refused as its sessions are.
	globex := env.tenant("globex")
	_, globexToken := env.createAPIToken(globex.AdminToken, "ERP", "write")
	_, err = env.db.Pool.Exec(ctx, `UPDATE tenants SET status = 'suspended' WHERE id = $1`, globex.ID)
	require.NoError(t, err)
	res = env.do(http.MethodGet, "/api/v1/labels", globexToken, nil)
	require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
	require.Equal(t, "tenant_suspended", res.ErrorCode())
}

// FuzzAPITokenBearer sends whatever the fuzzer likes as a bearer token: the
// token parser and the middleware answer 401 (or the plan's, the role's
// refusal) and never fail; only the real token is let in.
func FuzzAPITokenBearer(f *testing.F) {
	env := newTestEnv(f)
	acme := env.tenant("acme")
	_, token := env.createAPIToken(acme.AdminToken, "Fuzz", "read")
	for _, seed := range []string{token, token[:len(token)-1], token + "A", "crm_", "crm_" + strings.Repeat("g", 16) + "_" + token[21:],
		strings.Replace(token, "_", "-", 2), "crm_" + token[4:20] + "_" + strings.Repeat("=", 43), "CRM_" + token[4:], "eyJhbGciOi",
		"crm_" + token[4:20] + "_" + strings.Repeat("\xff", 43), ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, bearer string) {
		req, err := http.NewRequest(http.MethodGet, env.ts.URL+"/api/v1/labels", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return // a header net/http refuses to send
		}
		res.Body.Close()
		if strings.TrimSpace(bearer) == token {
			require.Equal(t, http.StatusOK, res.StatusCode)
			return
		}
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, "%q", bearer)
	})
}
