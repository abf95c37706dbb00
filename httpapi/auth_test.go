package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

func TestLoginRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	tenant := env.tenant("acme")

	res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "ADMIN@acme.test ", "password": testPassword})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	body := res.JSON()
	access, refresh := body["access_token"].(string), body["refresh_token"].(string)
	require.Equal(t, "TENANT_ADMIN", body["user"].(map[string]any)["role"])
	require.Equal(t, tenant.ID.String(), body["user"].(map[string]any)["tenant_id"])

	me := env.do(http.MethodGet, "/api/v1/auth/me", access, nil)
	require.Equal(t, http.StatusOK, me.Status)
	require.Equal(t, "admin@acme.test", me.JSON()["email"])

	// Rotate: the new refresh token works, the old one is now a replay.
	res = env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	refresh2 := res.JSON()["refresh_token"].(string)
	require.NotEqual(t, refresh, refresh2)

	res = env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "refresh_token_reused", res.ErrorCode())

	// Reuse revoked the whole family, including the newest token.
	res = env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh2})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "invalid_refresh_token", res.ErrorCode())
}

func TestLogoutRevokesRefreshToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.tenant("acme")
	res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@acme.test", "password": testPassword})
	refresh := res.JSON()["refresh_token"].(string)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodPost, "/api/v1/auth/logout", "", map[string]any{"refresh_token": refresh}).Status)
	res = env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh})
	require.Equal(t, http.StatusUnauthorized, res.Status)
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.tenant("acme")
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"wrong password", map[string]any{"email": "admin@acme.test", "password": "nope-nope"}, 401, "invalid_credentials"},
		{"unknown email", map[string]any{"email": "ghost@acme.test", "password": "whatever1"}, 401, "invalid_credentials"},
		{"missing fields", map[string]any{}, 400, "validation_failed"},
		{"unknown field", map[string]any{"email": "a@b.c", "password": "x", "admin": true}, 400, "validation_failed"},
		{"wrong type", map[string]any{"email": 42, "password": "x"}, 400, "validation_failed"},
		{"not json", "{email:", 400, "invalid_json"},
		{"sql metacharacters", map[string]any{"email": "' OR 1=1 --", "password": "'; DROP TABLE users; --"}, 401, "invalid_credentials"},
	}
	for _, tc := range cases {
		res := env.do(http.MethodPost, "/api/v1/auth/login", "", tc.body)
		require.Equal(t, tc.status, res.Status, "%s: %s", tc.name, res.Body)
		require.Equal(t, tc.code, res.ErrorCode(), tc.name)
	}
	big := make([]byte, 2<<20)
	res := env.do(http.MethodPost, "/api/v1/auth/login", "", append([]byte(`{"email":"`), big...))
	require.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
}

func TestLoginThrottledPerAccount(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	env := newTestEnv(t, func(c *Config) {
		c.Now = clock
		c.LoginLimiter = NewMemoryLoginLimiter(LoginLimits{}, func() time.Time { return now })
	})
	env.tenant("acme")
	for i := 0; i < 5; i++ {
		res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@acme.test", "password": "wrong-one"})
		require.Equal(t, http.StatusUnauthorized, res.Status)
	}
	// Even the right password is refused while locked, with Retry-After.
	res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@acme.test", "password": testPassword})
	require.Equal(t, http.StatusTooManyRequests, res.Status)
	require.Equal(t, "too_many_attempts", res.ErrorCode())
	require.Equal(t, "900", res.Header.Get("Retry-After"))
	now = now.Add(15*time.Minute + time.Second)
	res = env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@acme.test", "password": testPassword})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
}

func TestDeactivatedUserTokenStopsAtOnce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	tenant := env.tenant("acme")
	agentID, agentToken := env.user(tenant, crm.RoleAgent, "Ana")
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", agentToken, nil).Status)
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET active = false WHERE tenant_id = $1 AND id = $2`, tenant.ID, agentID)
		return err
	}))
	res := env.do(http.MethodGet, "/api/v1/auth/me", agentToken, nil)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "invalid_token", res.ErrorCode())
}

func TestTokensRejected(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	tenant := env.tenant("acme")
	for _, token := range []string{"", "garbage", tenant.AdminToken + "x",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."} {
		res := env.do(http.MethodGet, "/api/v1/auth/me", token, nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, "token %q", token)
	}
}

func TestSameEmailInTwoTenantsNeedsTenant(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.tenant("alpha")
	b := env.tenant("beta")
	ctx := context.Background()
	hash, _ := crm.HashPassword(testPassword)
	for _, tn := range []tenantFixture{a, b} {
		require.NoError(t, env.db.TenantTx(ctx, tn.ID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role) VALUES ($1, $2, 'Sam', 'sam@x.test', $3, 'AGENT')`,
				tn.ID, crm.NewID(), hash)
			return err
		}))
	}
	res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@x.test", "password": testPassword})
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "tenant_required", res.ErrorCode())
	res = env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@x.test", "password": testPassword, "tenant": "beta"})
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, b.ID.String(), res.JSON()["user"].(map[string]any)["tenant_id"])
}
