package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

func validationFields(t *testing.T, res response) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	var body struct {
		Error struct {
			Details struct {
				Fields map[string]any `json:"fields"`
			} `json:"details"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body))
	return body.Error.Details.Fields
}

func planBody(name string, users, connections, contacts int) map[string]any {
	return map[string]any{"name": name, "monthly_price": "199.90",
		"limits": map[string]any{"users": users, "connections": connections, "contacts": contacts,
			"monthly_conversations": 1000, "monthly_campaigns": 10},
		"features": map[string]any{"chatbot": true, "campaigns": true, "kanban": true}}
}

func createPlanAPI(t *testing.T, env *testEnv, owner string, body map[string]any) map[string]any {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/admin/plans", owner, body)
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	return res.JSON()
}

func createTenantAPI(t *testing.T, env *testEnv, owner, name, planID string) map[string]any {
	t.Helper()
	slug := strings.NewReplacer(" ", "-", "ã", "a").Replace(strings.ToLower(name))
	res := env.do(http.MethodPost, "/api/v1/admin/tenants", owner, map[string]any{"name": name, "email": "billing@" + slug + ".test",
		"document": "12.345.678/0001-90", "plan_id": planID,
		"admin": map[string]any{"name": "Admin " + name, "email": "admin@" + slug + ".test", "password": testPassword}})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	return res.JSON()
}

func TestPlanCRUDValidationAndRetire(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	owner := env.superAdmin()

	plan := createPlanAPI(t, env, owner, planBody("Pro", 5, 2, 1000))
	require.Equal(t, "199.90", plan["monthly_price"])
	require.Equal(t, "BRL", plan["currency"])
	require.Equal(t, float64(5), plan["limits"].(map[string]any)["users"])
	require.Equal(t, true, plan["features"].(map[string]any)["chatbot"])
	require.Equal(t, false, plan["features"].(map[string]any)["instagram"])

	numeric := planBody("Basic", 1, 1, 10)
	numeric["monthly_price"] = 49.9
	require.Equal(t, "49.90", createPlanAPI(t, env, owner, numeric)["monthly_price"])

	// Bad input: negative limits, a missing limit, a bad price, a duplicate name.
	bad := planBody("Broken", -1, 2, 3)
	bad["limits"].(map[string]any)["contacts"] = -5
	delete(bad["limits"].(map[string]any), "monthly_campaigns")
	fields := validationFields(t, env.do(http.MethodPost, "/api/v1/admin/plans", owner, bad))
	require.Equal(t, "must be 0 or more", fields["limits.users"])
	require.Equal(t, "must be 0 or more", fields["limits.contacts"])
	require.Contains(t, fields["limits.monthly_campaigns"], "required")
	for _, price := range []any{"-1.00", "12.345", "abc", 1e13, nil} {
		body := planBody("Priced", 1, 1, 1)
		body["monthly_price"] = price
		fields := validationFields(t, env.do(http.MethodPost, "/api/v1/admin/plans", owner, body))
		require.Contains(t, fields, "monthly_price", "price %v", price)
	}
	res := env.do(http.MethodPost, "/api/v1/admin/plans", owner, planBody("Pro", 1, 1, 1))
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)

	id := plan["id"].(string)
	res = env.do(http.MethodPatch, "/api/v1/admin/plans/"+id, owner, map[string]any{"monthly_price": "249",
		"limits": map[string]any{"users": 8}, "features": map[string]any{"instagram": true}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	got := res.JSON()
	require.Equal(t, "249.00", got["monthly_price"])
	require.Equal(t, float64(8), got["limits"].(map[string]any)["users"])
	require.Equal(t, float64(2), got["limits"].(map[string]any)["connections"], "limits not given stay")
	require.Equal(t, true, got["features"].(map[string]any)["instagram"])
	require.Equal(t, true, got["features"].(map[string]any)["chatbot"], "flags not given stay")
	fields = validationFields(t, env.do(http.MethodPatch, "/api/v1/admin/plans/"+id, owner,
		map[string]any{"limits": map[string]any{"contacts": -1}}))
	require.Equal(t, "must be 0 or more", fields["limits.contacts"])

	// A tenant on the plan, then retire it: the tenant keeps it, no new tenant can take it.
	tenant := createTenantAPI(t, env, owner, "Keeper", id)
	res = env.do(http.MethodPost, "/api/v1/admin/plans/"+id+"/retire", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, true, res.JSON()["retired"])
	require.Equal(t, float64(1), res.JSON()["tenants"])
	res = env.do(http.MethodPost, "/api/v1/admin/tenants", owner, map[string]any{"name": "Late", "email": "l@late.test",
		"plan_id": id, "admin": map[string]any{"name": "A", "email": "a@late.test", "password": testPassword}})
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
	require.Equal(t, "plan_retired", res.ErrorCode())
	res = env.do(http.MethodGet, "/api/v1/admin/tenants/"+tenant["id"].(string), owner, nil)
	require.Equal(t, id, res.JSON()["plan_id"])

	require.Len(t, env.do(http.MethodGet, "/api/v1/admin/plans", owner, nil).Items(), 1, "retired plans are hidden by default")
	require.Len(t, env.do(http.MethodGet, "/api/v1/admin/plans?include_retired=true", owner, nil).Items(), 2)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/admin/plans/"+crm.NewID().String(), owner, nil).Status)

	// Tenant users never reach the platform routes.
	acme := env.tenant("acme")
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/admin/plans", acme.AdminToken, nil).Status)
}

func TestTenantLifecycle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	owner := env.superAdmin()
	big := createPlanAPI(t, env, owner, planBody("Big", 10, 5, 1000))
	small := createPlanAPI(t, env, owner, planBody("Small", 1, 1, 1000))

	created := createTenantAPI(t, env, owner, "Padaria Pão Quente", big["id"].(string))
	id := created["id"].(string)
	require.Equal(t, "padaria-pao-quente", created["slug"])
	require.Equal(t, "active", created["status"])
	admin := created["admin"].(map[string]any)
	require.Equal(t, "TENANT_ADMIN", admin["role"])
	require.NotContains(t, string(mustJSON(t, created)), "password")
	require.Equal(t, float64(1), created["usage"].(map[string]any)["users"])

	adminToken := env.login("admin@padaria-pao-quente.test", testPassword)
	res := env.do(http.MethodPost, "/api/v1/users", adminToken, map[string]any{"name": "Agent", "email": "agent@padaria.test",
		"password": testPassword, "role": "AGENT"})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)

	// Bad input.
	fields := validationFields(t, env.do(http.MethodPost, "/api/v1/admin/tenants", owner, map[string]any{"name": "",
		"email": "nope", "plan_id": big["id"], "slug": "Bad Slug",
		"admin": map[string]any{"name": "A", "email": "x", "password": "short"}}))
	for _, f := range []string{"name", "email", "slug", "admin.email", "admin.password"} {
		require.Contains(t, fields, f)
	}
	res = env.do(http.MethodPost, "/api/v1/admin/tenants", owner, map[string]any{"name": "Ghost", "email": "g@g.test",
		"plan_id": crm.NewID(), "admin": map[string]any{"name": "A", "email": "a@g.test", "password": testPassword}})
	require.Contains(t, validationFields(t, res), "plan_id")

	// An explicit slug that is taken is a conflict on that field.
	res = env.do(http.MethodPost, "/api/v1/admin/tenants", owner, map[string]any{"name": "Other", "email": "o@o.test",
		"slug": "padaria-pao-quente", "plan_id": big["id"], "admin": map[string]any{"name": "A", "email": "a@o.test", "password": testPassword}})
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
	require.Equal(t, "slug", res.JSON()["error"].(map[string]any)["details"].(map[string]any)["field"])
	createTenantAPI(t, env, owner, "Second Shop", big["id"].(string))
	page := env.do(http.MethodGet, "/api/v1/admin/tenants?limit=1", owner, nil)
	require.Len(t, page.Items(), 1)
	require.Equal(t, "Second Shop", page.Items()[0]["name"], "newest first")
	next := env.do(http.MethodGet, "/api/v1/admin/tenants?limit=1&cursor="+page.JSON()["next_cursor"].(string), owner, nil)
	require.Equal(t, "Padaria Pão Quente", next.Items()[0]["name"])
	require.Nil(t, next.JSON()["next_cursor"])

	// The list shows usage against limits.
	items := env.do(http.MethodGet, "/api/v1/admin/tenants?q=padaria", owner, nil).Items()
	require.Len(t, items, 1)
	require.Equal(t, float64(2), items[0]["usage"].(map[string]any)["users"])
	require.Equal(t, float64(10), items[0]["limits"].(map[string]any)["users"])

	// A plan change over the new limits is allowed and reported.
	res = env.do(http.MethodPatch, "/api/v1/admin/tenants/"+id, owner, map[string]any{"plan_id": small["id"]})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, small["id"], res.JSON()["plan_id"])
	require.Equal(t, []any{map[string]any{"resource": "users", "limit": float64(1), "used": float64(2)}}, res.JSON()["exceeded"])
	// …and nothing more can be added.
	res = env.do(http.MethodPost, "/api/v1/users", adminToken, map[string]any{"name": "Third", "email": "third@padaria.test",
		"password": testPassword, "role": "AGENT"})
	require.Equal(t, http.StatusPaymentRequired, res.Status, "%s", res.Body)
	require.Equal(t, "plan_limit", res.ErrorCode())

	// Suspend: the admin's token stops and login is refused; reactivate restores.
	res = env.do(http.MethodPost, "/api/v1/admin/tenants/"+id+"/suspend", owner, map[string]any{"reason": "unpaid invoice"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, "suspended", res.JSON()["status"])
	res = env.do(http.MethodGet, "/api/v1/users", adminToken, nil)
	require.Equal(t, http.StatusForbidden, res.Status)
	require.Equal(t, "tenant_suspended", res.ErrorCode())
	res = env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@padaria-pao-quente.test", "password": testPassword})
	require.Equal(t, "tenant_suspended", res.ErrorCode())
	state, err := env.db.TenantState(context.Background(), crmUUID(t, id))
	require.NoError(t, err)
	require.Equal(t, "tenant_suspended", codeOf(state.Err()))
	require.Contains(t, validationFields(t, env.do(http.MethodPost, "/api/v1/admin/tenants/"+id+"/suspend", owner, map[string]any{"reason": ""})), "reason")

	res = env.do(http.MethodPost, "/api/v1/admin/tenants/"+id+"/reactivate", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/users", adminToken, nil).Status)

	// Delete needs an export first.
	res = env.do(http.MethodDelete, "/api/v1/admin/tenants/"+id, owner, nil)
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "export_required", res.ErrorCode())
	res = env.do(http.MethodGet, "/api/v1/admin/tenants/"+id+"/export", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Contains(t, res.Header.Get("Content-Disposition"), "tenant-padaria-pao-quente")
	var export struct {
		Tenant map[string]any              `json:"tenant"`
		Tables map[string][]map[string]any `json:"tables"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &export))
	require.Equal(t, id, export.Tenant["id"])
	require.Len(t, export.Tables["users"], 2)
	require.NotContains(t, string(res.Body), "argon2id")
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/admin/tenants/"+id, owner, nil).Status)
	got := env.do(http.MethodGet, "/api/v1/admin/tenants/"+id, owner, nil).JSON()
	require.Equal(t, "deleted", got["status"])
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/users", adminToken, nil).Status)
	res = env.do(http.MethodPost, "/api/v1/admin/tenants/"+id+"/reactivate", owner, nil)
	require.Equal(t, "tenant_deleted", res.ErrorCode())
}

func TestLimitAndFeatureOverHTTP(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	owner := env.superAdmin()
	body := planBody("Tiny", 5, 1, 1)
	body["features"] = map[string]any{"instagram": false, "kanban": true}
	plan := createPlanAPI(t, env, owner, body)
	createTenantAPI(t, env, owner, "Tiny Co", plan["id"].(string))
	token := env.login("admin@tiny-co.test", testPassword)

	res := env.do(http.MethodPost, "/api/v1/contacts", token, map[string]any{"name": "One", "phone": "+5511988887777"})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	res = env.do(http.MethodPost, "/api/v1/contacts", token, map[string]any{"name": "Two", "phone": "+5511988887778"})
	require.Equal(t, http.StatusPaymentRequired, res.Status, "%s", res.Body)
	require.Equal(t, "plan_limit", res.ErrorCode())
	var body402 struct {
		Error struct {
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body402))
	require.Equal(t, map[string]any{"resource": "contacts", "limit": float64(1), "used": float64(1)}, body402.Error.Details)

	// requireFeature, as feature handlers call it.
	env.srv.route(op{Method: http.MethodGet, Path: "/api/v1/test-features/:feature", Summary: "test", Tag: "test",
		Access: accessTenant, Perm: crm.PermTenantRead}, func(c *gin.Context, p crm.Principal) error {
		if err := env.srv.requireFeature(c, p, c.Param("feature")); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
	res = env.do(http.MethodGet, "/api/v1/test-features/instagram", token, nil)
	require.Equal(t, http.StatusPaymentRequired, res.Status)
	require.Equal(t, "feature_disabled", res.ErrorCode())
	require.Equal(t, http.StatusNoContent, env.do(http.MethodGet, "/api/v1/test-features/kanban", token, nil).Status)
}

func TestAuditLogForTenantAdminsAndOwner(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	owner := env.superAdmin()
	plan := createPlanAPI(t, env, owner, planBody("Audited", 10, 5, 100))
	other := createPlanAPI(t, env, owner, planBody("Other", 10, 5, 100))
	created := createTenantAPI(t, env, owner, "Audit Co", plan["id"].(string))
	id := created["id"].(string)
	res := env.do(http.MethodPatch, "/api/v1/admin/tenants/"+id, owner, map[string]any{"plan_id": other["id"]})
	require.Equal(t, http.StatusOK, res.Status)
	adminToken := env.login("admin@audit-co.test", testPassword)
	tenantID := crmUUID(t, id)
	res = env.do(http.MethodPost, "/api/v1/users", adminToken, map[string]any{"name": "Agent", "email": "agent@audit.test",
		"password": testPassword, "role": "AGENT"})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	agentEmail := "agent@audit.test"
	agentToken := env.login(agentEmail, testPassword)

	// The tenant admin sees the platform owner's changes to the company and its own.
	items := env.do(http.MethodGet, "/api/v1/audit-log", adminToken, nil).Items()
	require.GreaterOrEqual(t, len(items), 3)
	actions := map[string]bool{}
	for _, it := range items {
		actions[it["entity"].(string)+":"+it["action"].(string)] = true
		require.Equal(t, id, it["tenant_id"])
	}
	require.True(t, actions["tenant:create"], "%v", actions)
	require.True(t, actions["tenant:change_plan"], "%v", actions)
	require.True(t, actions["user:create"], "%v", actions)
	items = env.do(http.MethodGet, "/api/v1/audit-log?entity=tenant&action=change_plan", adminToken, nil).Items()
	require.Len(t, items, 1)
	require.Equal(t, "SUPER_ADMIN", items[0]["actor_role"])
	require.NotEmpty(t, items[0]["before"])
	// Pagination and time filters.
	page := env.do(http.MethodGet, "/api/v1/audit-log?limit=1", adminToken, nil)
	require.Len(t, page.Items(), 1)
	cursor := page.JSON()["next_cursor"].(string)
	require.Len(t, env.do(http.MethodGet, "/api/v1/audit-log?limit=1&cursor="+cursor, adminToken, nil).Items(), 1)
	require.Empty(t, env.do(http.MethodGet, "/api/v1/audit-log?until=2000-01-01T00:00:00Z", adminToken, nil).Items())
	require.Contains(t, validationFields(t, env.do(http.MethodGet, "/api/v1/audit-log?since=yesterday", adminToken, nil)), "since")
	// Agents may not read it; another tenant sees none of it.
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/audit-log", agentToken, nil).Status)
	acme := env.tenant("acme")
	for _, it := range env.do(http.MethodGet, "/api/v1/audit-log", acme.AdminToken, nil).Items() {
		require.Equal(t, acme.ID.String(), it["tenant_id"])
	}

	// The owner sees the platform log and every tenant's, once each; user
	// passwords never appear.
	res = env.do(http.MethodGet, "/api/v1/admin/audit-log?tenant_id="+id, owner, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	items = res.Items()
	sources := map[string]int{}
	for _, it := range items {
		sources[it["source"].(string)+":"+it["entity"].(string)+":"+it["action"].(string)]++
	}
	require.Equal(t, 1, sources["platform:tenant:create"], "%v", sources)
	require.Equal(t, 1, sources["tenant:user:create"], "%v", sources)
	require.NotContains(t, string(res.Body), "argon2id")
	all := env.do(http.MethodGet, "/api/v1/admin/audit-log?entity=plan", owner, nil).Items()
	require.Len(t, all, 2)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/admin/audit-log", adminToken, nil).Status)
	_ = tenantID
}

func TestMetricsOverview(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	owner := env.superAdmin()
	plan := createPlanAPI(t, env, owner, planBody("Metered", 1, 5, 100))
	a := createTenantAPI(t, env, owner, "Metric A", plan["id"].(string))
	createTenantAPI(t, env, owner, "Metric B", plan["id"].(string))
	res := env.do(http.MethodPost, "/api/v1/admin/tenants/"+a["id"].(string)+"/suspend", owner, map[string]any{"reason": "test"})
	require.Equal(t, http.StatusOK, res.Status)
	ctx := context.Background()
	require.NoError(t, env.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, status, verify_token, webhook_secret)
			VALUES ($1, $2, 'c', 'whatsapp', 'sandbox', 'connected', 'v', 's')`, a["id"], crm.NewID())
		return err
	}))

	res = env.do(http.MethodGet, "/api/v1/admin/metrics", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	m := res.JSON()
	require.Equal(t, map[string]any{"active": float64(1), "suspended": float64(1), "deleted": float64(0)}, m["tenants_by_status"])
	require.Equal(t, float64(2), m["users"])
	require.Equal(t, map[string]any{"connected": float64(1)}, m["connections_by_status"])
	require.Len(t, m["messages_per_day"], 30)
	byPlan := m["tenants_by_plan"].([]any)
	require.Len(t, byPlan, 1)
	require.Equal(t, float64(2), byPlan[0].(map[string]any)["tenants"])
	require.Len(t, m["tenant_usage"], 2)
	require.Len(t, env.do(http.MethodGet, "/api/v1/admin/metrics?days=7", owner, nil).JSON()["messages_per_day"], 7)
	require.Contains(t, validationFields(t, env.do(http.MethodGet, "/api/v1/admin/metrics?days=0", owner, nil)), "days")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func crmUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	require.NoError(t, err)
	return id
}

func codeOf(err error) string {
	var coded *crm.Error
	if errors.As(err, &coded) {
		return coded.Code
	}
	return ""
}
