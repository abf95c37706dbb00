package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
		{"email too long", map[string]any{"email": strings.Repeat("a", 250) + "@b.co", "password": "whatever1"}, 400, "validation_failed"},
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

// throttledEnv is a server whose login throttle runs on a clock the test
// moves: three free failures per account and address, then waits of 1, 2, 4
// and at most 8 seconds.
func throttledEnv(t *testing.T) (*testEnv, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	env := newTestEnv(t, func(c *Config) {
		c.LoginLimiter = pgLoginLimiter(c.DB, LoginLimits{FreeFailures: 3, FirstDelay: time.Second, MaxDelay: 8 * time.Second},
			clock.Now)
	})
	env.tenant("acme")
	return env, clock
}

// TestLoginFailuresElsewhereDoNotLockTheOwnerOut: a stranger guessing the
// admin's password from one address cannot stop the admin logging in from
// another (issue 14.7: five failures used to lock the account for anyone).
func TestLoginFailuresElsewhereDoNotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	env, clock := throttledEnv(t)
	attacker, owner := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	for failures := 0; failures < 10; {
		res := loginVia(env, attacker, "admin@acme.test", "wrong-one", nil)
		if res.Status == http.StatusTooManyRequests {
			secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
			require.NoError(t, err)
			clock.Advance(time.Duration(secs) * time.Second)
			continue
		}
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
		failures++
	}
	require.Equal(t, http.StatusTooManyRequests, loginVia(env, attacker, "admin@acme.test", "wrong-one", nil).Status,
		"the attacker is still held back")
	res := loginVia(env, owner, "admin@acme.test", testPassword, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}

// TestLoginDelaysRepeatedFailuresProgressively: from one address, after the
// free failures each further attempt at the account waits twice as long as
// the one before, up to a cap; a wait is answered 429 with Retry-After
// before the password is even checked; success clears it (issue 14.7).
func TestLoginDelaysRepeatedFailuresProgressively(t *testing.T) {
	t.Parallel()
	env, clock := throttledEnv(t)
	attacker := clientFrom(t, "127.0.0.2")
	fail := func() {
		t.Helper()
		res := loginVia(env, attacker, "admin@acme.test", "wrong-one", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
	}
	mustWait := func(password string) int {
		t.Helper()
		res := loginVia(env, attacker, "admin@acme.test", password, nil)
		require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
		require.Equal(t, "too_many_attempts", res.ErrorCode())
		secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
		require.NoError(t, err)
		return secs
	}
	for range 3 {
		fail()
	}
	var waits []int
	for range 6 {
		secs := mustWait("wrong-one")
		waits = append(waits, secs)
		clock.Advance(time.Duration(secs)*time.Second - time.Millisecond)
		require.Equal(t, 1, mustWait("wrong-one"), "not a moment early")
		clock.Advance(time.Millisecond)
		fail()
	}
	require.Equal(t, []int{1, 2, 4, 8, 8, 8}, waits)

	// While it waits, even the right password is not checked.
	require.Equal(t, 8, mustWait(testPassword))
	clock.Advance(8 * time.Second)
	res := loginVia(env, attacker, "admin@acme.test", testPassword, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	// Success starts the count afresh.
	for range 3 {
		fail()
	}
	require.Equal(t, 1, mustWait("wrong-one"))

	// A quiet quarter of an hour forgets the failures.
	clock.Advance(15 * time.Minute)
	fail()
}

// TestLoginBurstCannotOutrunTheThrottle: guesses sent all at once are counted
// before their passwords are checked, so no more than the free ones are
// checked, however many race in together.
func TestLoginBurstCannotOutrunTheThrottle(t *testing.T) {
	t.Parallel()
	env, _ := throttledEnv(t)
	attacker := clientFrom(t, "127.0.0.2")
	statuses := make(chan int, 12)
	var wg sync.WaitGroup
	for range cap(statuses) {
		wg.Go(func() {
			statuses <- loginVia(env, attacker, "admin@acme.test", "wrong-one", nil).Status
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for status := range statuses {
		counts[status]++
	}
	require.Equal(t, map[int]int{http.StatusUnauthorized: 3, http.StatusTooManyRequests: 9}, counts)
}

// TestLoginSprayFromOneAddressIsCapped: one address failing across many
// accounts is stopped for the rest of the window, for every account, while
// other addresses go on.
func TestLoginSprayFromOneAddressIsCapped(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	env := newTestEnv(t, func(c *Config) {
		c.LoginLimiter = pgLoginLimiter(c.DB, LoginLimits{IPFailures: 5, Window: 10 * time.Minute}, clock.Now)
	})
	env.tenant("acme")
	sprayer, owner := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	for i := range 5 {
		res := loginVia(env, sprayer, fmt.Sprintf("user%d@acme.test", i), "wrong-one", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
	}
	clock.Advance(time.Minute)
	res := loginVia(env, sprayer, "admin@acme.test", testPassword, nil)
	require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
	require.Equal(t, "540", res.Header.Get("Retry-After"))
	res = loginVia(env, owner, "admin@acme.test", testPassword, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	clock.Advance(9 * time.Minute)
	res = loginVia(env, sprayer, "admin@acme.test", testPassword, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
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
