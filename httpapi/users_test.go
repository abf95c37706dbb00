package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

func TestUserCRUD(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")

	team := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Sales"})
	require.Equal(t, http.StatusCreated, team.Status, string(team.Body))
	teamID := team.JSON()["id"].(string)

	res := env.do(http.MethodPost, "/api/v1/users", acme.AdminToken, map[string]any{
		"name": "  Ana Souza ", "email": " Ana@ACME.test", "password": "s3cret-pass", "role": "AGENT", "team_ids": []string{teamID}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	require.NotContains(t, string(res.Body), "password")
	require.NotContains(t, string(res.Body), "argon2")
	user := res.JSON()
	id := user["id"].(string)
	require.Equal(t, "Ana Souza", user["name"])
	require.Equal(t, "ana@acme.test", user["email"])
	require.Equal(t, "AGENT", user["role"])
	require.Equal(t, true, user["active"])
	require.Equal(t, []any{teamID}, user["team_ids"])
	require.Equal(t, "offline", user["availability"])
	require.Nil(t, user["last_login_at"])
	for _, key := range []string{"created_at", "updated_at"} {
		require.NotEmpty(t, user[key], key)
	}

	// The new user can sign in with the password the admin chose.
	env.login("ana@acme.test", "s3cret-pass")

	res = env.do(http.MethodGet, "/api/v1/users/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "ana@acme.test", res.JSON()["email"])
	require.NotNil(t, res.JSON()["last_login_at"])

	res = env.do(http.MethodPatch, "/api/v1/users/"+id, acme.AdminToken, map[string]any{"name": "Ana S.", "role": "SUPERVISOR", "team_ids": []string{}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "Ana S.", res.JSON()["name"])
	require.Equal(t, "SUPERVISOR", res.JSON()["role"])
	require.Equal(t, "ana@acme.test", res.JSON()["email"], "fields not given stay")
	require.Equal(t, []any{}, res.JSON()["team_ids"])

	res = env.do(http.MethodGet, "/api/v1/users", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Len(t, res.Items(), 2)
	require.Nil(t, res.JSON()["next_cursor"])

	res = env.do(http.MethodDelete, "/api/v1/users/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	res = env.do(http.MethodGet, "/api/v1/users/"+id, acme.AdminToken, nil)
	require.Equal(t, false, res.JSON()["active"])
	require.NotNil(t, res.JSON()["deactivated_at"])
	// Deleting again is harmless.
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/users/"+id, acme.AdminToken, nil).Status)

	res = env.do(http.MethodPatch, "/api/v1/users/"+id, acme.AdminToken, map[string]any{"active": true})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, res.JSON()["active"])
	require.Nil(t, res.JSON()["deactivated_at"])

	// Malformed and unknown ids are 404s.
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/users/nope", acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/users/"+crm.NewID().String(), acme.AdminToken, nil).Status)
}

func TestUserValidation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	valid := func(change map[string]any) map[string]any {
		body := map[string]any{"name": "Bob", "email": "bob@acme.test", "password": "long-enough", "role": "AGENT"}
		for k, v := range change {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return body
	}
	long := make([]byte, 201)
	for i := range long {
		long[i] = 'x'
	}
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"missing name", valid(map[string]any{"name": nil}), "name"},
		{"blank name", valid(map[string]any{"name": "   "}), "name"},
		{"long name", valid(map[string]any{"name": string(long)}), "name"},
		{"bad email", valid(map[string]any{"email": "not-an-email"}), "email"},
		{"display-name email", valid(map[string]any{"email": "Bob <bob@acme.test>"}), "email"},
		{"missing email", valid(map[string]any{"email": nil}), "email"},
		{"short password", valid(map[string]any{"password": "short"}), "password"},
		{"super admin", valid(map[string]any{"role": "SUPER_ADMIN"}), "role"},
		{"unknown role", valid(map[string]any{"role": "OWNER"}), "role"},
		{"unknown team", valid(map[string]any{"team_ids": []string{crm.NewID().String()}}), "team_ids"},
		{"unknown field", valid(map[string]any{"is_admin": true}), "is_admin"},
		{"wrong type", valid(map[string]any{"name": 42}), "name"},
	}
	for _, tc := range cases {
		res := env.do(http.MethodPost, "/api/v1/users", acme.AdminToken, tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", tc.name, res.Body)
		require.Equal(t, "validation_failed", res.ErrorCode(), tc.name)
		require.Contains(t, directoryFieldErrors(t, res), tc.field, "%s: %s", tc.name, res.Body)
	}

	// PATCH validates the fields it is given.
	id, _ := env.user(acme, crm.RoleAgent, "Carla")
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"email": "x@"}, "email"},
		{map[string]any{"role": "SUPER_ADMIN"}, "role"},
		{map[string]any{"password": "1234"}, "password"},
		{map[string]any{"team_ids": []string{crm.NewID().String()}}, "team_ids"},
		{map[string]any{"tenant_id": crm.NewID().String()}, "tenant_id"},
		{map[string]any{"active": "yes"}, "active"},
	} {
		res := env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken, tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%v: %s", tc.body, res.Body)
		require.Contains(t, directoryFieldErrors(t, res), tc.field, "%v: %s", tc.body, res.Body)
	}

	// Query parameters are validated too.
	for _, q := range []string{"role=BOSS", "active=maybe", "team_id=nope", "limit=-1", "cursor=%25%25"} {
		res := env.do(http.MethodGet, "/api/v1/users?"+q, acme.AdminToken, nil)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", q, res.Body)
	}
}

func TestUserDuplicateEmail(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	body := map[string]any{"name": "Dup", "email": "dup@example.test", "password": "long-enough", "role": "AGENT"}
	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/users", acme.AdminToken, body).Status)

	body["email"] = "DUP@example.test "
	res := env.do(http.MethodPost, "/api/v1/users", acme.AdminToken, body)
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "email", directoryErrorDetails(t, res)["field"])

	// Another tenant may have the same email.
	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/users", globex.AdminToken, body).Status)

	// Renaming onto a taken email is a conflict too.
	id, _ := env.user(acme, crm.RoleAgent, "Eve")
	res = env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken, map[string]any{"email": "dup@example.test"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "email", directoryErrorDetails(t, res)["field"])
}

func TestUserCrossTenantIsNotFound(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	theirs, theirToken := env.user(globex, crm.RoleAgent, "Gus")
	theirTeam := env.do(http.MethodPost, "/api/v1/teams", globex.AdminToken, map[string]any{"name": "Theirs"}).JSON()["id"].(string)

	path := "/api/v1/users/" + theirs.String()
	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		var body any
		if method == http.MethodPatch {
			body = map[string]any{"name": "Hijacked", "active": false}
		}
		res := env.do(method, path, acme.AdminToken, body)
		require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", method, res.Body)
		require.Equal(t, "not_found", res.ErrorCode())
	}
	// Their admin id is invisible as well, and their team can't be joined.
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/users/"+globex.AdminID.String(), acme.AdminToken, nil).Status)
	res := env.do(http.MethodPost, "/api/v1/users", acme.AdminToken, map[string]any{
		"name": "Sneaky", "email": "sneaky@acme.test", "password": "long-enough", "role": "AGENT", "team_ids": []string{theirTeam}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "team_ids")

	// Nothing changed on their side, and lists never mix tenants.
	res = env.do(http.MethodGet, path, globex.AdminToken, nil)
	require.Equal(t, "Gus", res.JSON()["name"])
	require.Equal(t, true, res.JSON()["active"])
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", theirToken, nil).Status)
	for _, item := range env.do(http.MethodGet, "/api/v1/users?limit=200", acme.AdminToken, nil).Items() {
		require.NotEqual(t, theirs.String(), item["id"])
	}
}

func TestUserListPaginationAndFilters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	team := env.do(http.MethodPost, "/api/v1/teams", acme.AdminToken, map[string]any{"name": "Support"}).JSON()["id"].(string)
	names := []string{"Zoe", "amy", "Bruno", "bruno", "Caio", "Dora", "Eli", "Fábio", "100%_real"}
	for i, name := range names {
		body := map[string]any{"name": name, "email": fmt.Sprintf("user%d@acme.test", i), "password": "long-enough", "role": "AGENT"}
		if i%2 == 0 {
			body["team_ids"] = []string{team}
			body["role"] = "SUPERVISOR"
		}
		res := env.do(http.MethodPost, "/api/v1/users", acme.AdminToken, body)
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}

	all := directoryWalk(t, env, "/api/v1/users?limit=4", acme.AdminToken)
	require.Len(t, all, len(names)+1)
	seen := map[string]bool{}
	for _, item := range all {
		id := item["id"].(string)
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
	}

	count := func(query string) int {
		res := env.do(http.MethodGet, "/api/v1/users?"+query, acme.AdminToken, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s: %s", query, res.Body)
		return len(res.Items())
	}
	require.Equal(t, 5, count("role=SUPERVISOR"))
	require.Equal(t, 4, count("role=AGENT"))
	require.Equal(t, 1, count("role=TENANT_ADMIN"))
	require.Equal(t, 5, count("team_id="+team))
	require.Equal(t, 2, count("q=BRUNO"))
	require.Equal(t, 1, count("q="+url.QueryEscape("user3@")))
	// % and _ are literal, not wildcards.
	require.Equal(t, 1, count("q="+url.QueryEscape("%_")))
	require.Equal(t, 0, count("q="+url.QueryEscape("a%o")))
	require.Equal(t, 0, count("q="+url.QueryEscape("Z_e")))

	// Deactivated users are filtered by active.
	var first string
	for _, item := range all {
		if item["role"] != "TENANT_ADMIN" {
			first = item["id"].(string)
			break
		}
	}
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/users/"+first, acme.AdminToken, nil).Status)
	require.Equal(t, 1, count("active=false"))
	require.Equal(t, len(names), count("active=true"))
}

func TestUserAgentsReadButCannotWrite(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	_, agent := env.user(acme, crm.RoleAgent, "Agent")
	_, supervisor := env.user(acme, crm.RoleSupervisor, "Super")

	for _, token := range []string{agent, supervisor} {
		require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/users", token, nil).Status)
		require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/users/"+acme.AdminID.String(), token, nil).Status)
		res := env.do(http.MethodPost, "/api/v1/users", token, map[string]any{"name": "X", "email": "x@acme.test",
			"password": "long-enough", "role": "TENANT_ADMIN"})
		require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
		require.Equal(t, http.StatusForbidden, env.do(http.MethodPatch, "/api/v1/users/"+acme.AdminID.String(), token,
			map[string]any{"role": "AGENT"}).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodDelete, "/api/v1/users/"+acme.AdminID.String(), token, nil).Status)
	}
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/users", "", nil).Status)
	// A super admin is not a tenant user.
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/users", env.superAdmin(), nil).Status)
}

func TestUserTokensDieOnDeactivationRoleAndPasswordChange(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")

	// Deactivation: the access token fails on the very next request and the
	// refresh token is revoked.
	id, token := env.user(acme, crm.RoleAgent, "Dan")
	login := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "dan@acme.test", "password": testPassword})
	refresh := login.JSON()["refresh_token"].(string)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", token, nil).Status)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/users/"+id.String(), acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/auth/me", token, nil).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/users", token, nil).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh}).Status)
	res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "dan@acme.test", "password": testPassword})
	require.NotEqual(t, http.StatusOK, res.Status, "a deactivated user can't sign in")

	// Reactivation lets them sign in again; the old token stays dead.
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken, map[string]any{"active": true}).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/auth/me", token, nil).Status)
	token = env.login("dan@acme.test", testPassword)

	// Role change.
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken, map[string]any{"role": "SUPERVISOR"}).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/auth/me", token, nil).Status)
	token = env.login("dan@acme.test", testPassword)

	// A name change keeps the session.
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken, map[string]any{"name": "Daniel"}).Status)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", token, nil).Status)

	// Password change.
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken, map[string]any{"password": "brand-new-pass"}).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/auth/me", token, nil).Status)
	res = env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "dan@acme.test", "password": testPassword})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	env.login("dan@acme.test", "brand-new-pass")
}

func TestUserLastAdminAndSelfProtection(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	self := "/api/v1/users/" + acme.AdminID.String()

	// The only admin can't be demoted or removed.
	for _, tc := range []struct {
		method string
		body   any
	}{
		{http.MethodPatch, map[string]any{"role": "AGENT"}},
		{http.MethodPatch, map[string]any{"active": false}},
		{http.MethodDelete, nil},
	} {
		res := env.do(tc.method, self, acme.AdminToken, tc.body)
		require.Equal(t, http.StatusConflict, res.Status, "%s %v: %s", tc.method, tc.body, res.Body)
		require.Equal(t, "last_admin", res.ErrorCode())
	}
	// Harmless self-edits are fine.
	res := env.do(http.MethodPatch, self, acme.AdminToken, map[string]any{"name": "Boss", "role": "TENANT_ADMIN", "active": true})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))

	// With a second admin, an admin still can't lock themselves out.
	second, secondToken := env.user(acme, crm.RoleTenantAdmin, "Second")
	for _, tc := range []struct {
		method string
		body   any
	}{
		{http.MethodPatch, map[string]any{"role": "SUPERVISOR"}},
		{http.MethodDelete, nil},
	} {
		res := env.do(tc.method, self, acme.AdminToken, tc.body)
		require.Equal(t, http.StatusConflict, res.Status, "%s %v: %s", tc.method, tc.body, res.Body)
		require.Equal(t, "self_lockout", res.ErrorCode())
	}

	// But may demote the other admin; then the other can't demote the first,
	// since it is no longer an admin, and the first is again the last one.
	res = env.do(http.MethodPatch, "/api/v1/users/"+second.String(), acme.AdminToken, map[string]any{"role": "AGENT"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodPatch, self, secondToken, map[string]any{"role": "AGENT"}).Status)
	res = env.do(http.MethodDelete, self, acme.AdminToken, nil)
	require.Equal(t, "last_admin", res.ErrorCode())

	// Deactivated admins don't count as the one that is left.
	third, _ := env.user(acme, crm.RoleTenantAdmin, "Third")
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/users/"+third.String(), acme.AdminToken, nil).Status)
	res = env.do(http.MethodPatch, self, acme.AdminToken, map[string]any{"role": "AGENT"})
	require.Equal(t, "last_admin", res.ErrorCode())
}

// Two admins demoting each other at the same moment must not leave the
// company without an admin: the store locks the admin rows, so at most one
// demotion wins.
func TestUserLastAdminUnderConcurrency(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	first, firstToken := acme.AdminID, acme.AdminToken
	second, secondToken := env.user(acme, crm.RoleTenantAdmin, "Second")
	patch := func(token string, target uuid.UUID) int {
		req, err := http.NewRequest(http.MethodPatch, env.ts.URL+"/api/v1/users/"+target.String(),
			strings.NewReader(`{"role": "AGENT"}`))
		if err != nil {
			return 0
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	for round := range 5 {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		wg.Add(2)
		go func() { defer wg.Done(); statuses[0] = patch(firstToken, second) }()
		go func() { defer wg.Done(); statuses[1] = patch(secondToken, first) }()
		wg.Wait()
		require.NotEqual(t, []int{200, 200}, statuses, "round %d: both demotions succeeded", round)
		for _, status := range statuses {
			require.Contains(t, []int{200, 401, 409}, status, "round %d: %v", round, statuses)
		}

		ctx := context.Background()
		var admins int
		require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'TENANT_ADMIN' AND active`).Scan(&admins)
		}))
		require.Equal(t, 1, admins, "round %d: %v", round, statuses)

		// Make both admins again for the next round and sign in afresh.
		require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE users SET role = 'TENANT_ADMIN' WHERE id = ANY($1)`, []uuid.UUID{first, second})
			return err
		}))
		firstToken = env.login(acme.AdminEmail, testPassword)
		secondToken = env.login("second@acme.test", testPassword)
	}
}

func TestUserAuditTrail(t *testing.T) {
	t.Parallel()
	// The test client stands for a proxy forwarding its client's address.
	env := newTestEnv(t, func(cfg *Config) { cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	acme := env.tenant("acme")
	res := env.doHeaders(http.MethodPost, "/api/v1/users", acme.AdminToken, map[string]any{
		"name": "Audited", "email": "audited@acme.test", "password": "long-enough", "role": "AGENT"},
		map[string]string{"X-Forwarded-For": "203.0.113.7"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := uuid.MustParse(res.JSON()["id"].(string))
	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/users/"+id.String(), acme.AdminToken,
		map[string]any{"password": "another-pass", "role": "SUPERVISOR"}).Status)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/users/"+id.String(), acme.AdminToken, nil).Status)

	rows := directoryAudit(t, env, acme.ID, "user", id)
	require.Len(t, rows, 3)
	require.Equal(t, []string{"create", "update", "deactivate"}, []string{rows[0].Action, rows[1].Action, rows[2].Action})
	for _, row := range rows {
		require.Equal(t, acme.AdminID, row.ActorID)
		require.Equal(t, acme.AdminEmail, row.ActorEmail)
		require.NotEmpty(t, row.IP)
		require.NotContains(t, row.After+row.Before, "argon2")
		require.NotContains(t, row.After+row.Before, "another-pass")
	}
	require.Equal(t, "203.0.113.7", rows[0].IP)
	require.Empty(t, rows[0].Before)
	require.Contains(t, rows[1].Before, `"AGENT"`)
	require.Contains(t, rows[1].After, `"SUPERVISOR"`)
	require.Contains(t, rows[1].After, `"password_changed": true`)
	require.Contains(t, rows[2].After, `"active": false`)

	// A rejected change writes nothing.
	env.do(http.MethodDelete, "/api/v1/users/"+acme.AdminID.String(), acme.AdminToken, nil)
	require.Empty(t, directoryAudit(t, env, acme.ID, "user", acme.AdminID))
}

// directoryFieldErrors returns error.details.fields of a validation error.
func directoryFieldErrors(t *testing.T, res response) map[string]any {
	t.Helper()
	fields, _ := directoryErrorDetails(t, res)["fields"].(map[string]any)
	return fields
}

func directoryErrorDetails(t *testing.T, res response) map[string]any {
	t.Helper()
	var body struct {
		Error struct {
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body), string(res.Body))
	return body.Error.Details
}

// directoryWalk follows next_cursor from path until the last page and returns
// every item.
func directoryWalk(t *testing.T, env *testEnv, path, token string) []map[string]any {
	t.Helper()
	var all []map[string]any
	next := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100, "pagination does not end")
		p := path
		if next != "" {
			p += "&cursor=" + url.QueryEscape(next)
		}
		res := env.do(http.MethodGet, p, token, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		body := res.JSON()
		all = append(all, res.Items()...)
		cursor, ok := body["next_cursor"].(string)
		if !ok {
			require.Nil(t, body["next_cursor"])
			return all
		}
		next = cursor
	}
}

type directoryAuditRow struct {
	Action, ActorEmail, IP, Before, After string
	ActorID                               uuid.UUID
}

// directoryAudit reads the tenant's audit rows about one entity, oldest first.
func directoryAudit(t *testing.T, env *testEnv, tenantID uuid.UUID, entity string, entityID uuid.UUID) []directoryAuditRow {
	t.Helper()
	ctx := context.Background()
	var out []directoryAuditRow
	err := env.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT action, actor_email, ip, coalesce(before::text, ''), coalesce(after::text, ''),
			coalesce(actor_id, '00000000-0000-0000-0000-000000000000')
			FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY id`, entity, entityID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r directoryAuditRow
			if err := rows.Scan(&r.Action, &r.ActorEmail, &r.IP, &r.Before, &r.After, &r.ActorID); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	require.NoError(t, err)
	return out
}
