package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// licensedEnv is a server enforcing licenses: the node's address is
// 127.0.0.1 (what the test client connects from), the checker has its own
// clock so grace can be tested without expiring access tokens. mutate
// changes the rest of the configuration.
func licensedEnv(t *testing.T, mutate ...func(*Config)) (*testEnv, *testClock, *persistence.LicenseChecker, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	clock := &testClock{now: time.Now()}
	var checker *persistence.LicenseChecker
	env := newTestEnv(t, append([]func(*Config){func(cfg *Config) {
		checker, err = persistence.NewLicenseChecker(cfg.DB, persistence.LicenseCheckerConfig{
			PublicKey: priv.Public().(ed25519.PublicKey), ServerIPs: []string{"127.0.0.1"}, Grace: 72 * time.Hour, Now: clock.Now})
		require.NoError(t, err)
		cfg.Licenses = checker
		cfg.LicenseSigningKey = priv
	}}, mutate...)...)
	return env, clock, checker, priv
}

func licenseReason(t *testing.T, res response) string {
	t.Helper()
	require.Equal(t, http.StatusPaymentRequired, res.Status, "%s", res.Body)
	require.Equal(t, "license_invalid", res.ErrorCode(), "%s", res.Body)
	return res.JSON()["error"].(map[string]any)["details"].(map[string]any)["reason"].(string)
}

func issueLicenseAPI(t *testing.T, env *testEnv, owner string, tenant tenantFixture, ip string, expires time.Time) map[string]any {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/admin/tenants/"+tenant.ID.String()+"/licenses", owner,
		map[string]any{"server_ip": ip, "hostname": "", "expires_at": expires.Format(time.RFC3339)})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	return res.JSON()
}

func TestLicenseEnforcedOnTenantRoutes(t *testing.T) {
	t.Parallel()
	env, clock, checker, priv := licensedEnv(t)
	owner := env.superAdmin()
	acme := env.tenant("acme")

	// No license: every tenant route answers 402 missing.
	require.Equal(t, "missing", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", acme.AdminToken, nil)))
	require.Equal(t, "missing", licenseReason(t, env.do(http.MethodGet, "/api/v1/users", acme.AdminToken, nil)))
	// Login and platform routes are not tenant routes.
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", acme.AdminToken, nil).Status)

	// Bad input to issuing.
	res := env.do(http.MethodPost, "/api/v1/admin/tenants/"+acme.ID.String()+"/licenses", owner,
		map[string]any{"server_ip": "not-an-ip", "expires_at": time.Now().Add(-time.Hour).Format(time.RFC3339)})
	fields := validationFields(t, res)
	require.Contains(t, fields, "server_ip")
	require.Contains(t, fields, "expires_at")
	res = env.do(http.MethodPost, "/api/v1/admin/tenants/"+crm.NewID().String()+"/licenses", owner,
		map[string]any{"server_ip": "127.0.0.1", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
	require.Equal(t, http.StatusNotFound, res.Status)

	// A license for this node: served at once (this node refreshed on issue).
	license := issueLicenseAPI(t, env, owner, acme, "127.0.0.1", clock.Now().Add(30*24*time.Hour))
	require.NotEmpty(t, license["key"])
	info := env.do(http.MethodGet, "/api/v1/tenant", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, info.Status, "%s", info.Body)
	lic := info.JSON()["license"].(map[string]any)
	require.Equal(t, true, lic["valid"])
	require.Equal(t, true, lic["enforced"])
	require.Equal(t, false, lic["warning"])
	require.Equal(t, "Tenant acme", info.JSON()["name"])
	require.Equal(t, "test-generous", info.JSON()["plan"].(map[string]any)["name"])
	require.Equal(t, float64(1), info.JSON()["usage"].(map[string]any)["users"])

	// Its key verifies offline with the public key, for this tenant and address.
	payload, status := crm.VerifyLicense(priv.Public().(ed25519.PublicKey), license["key"].(string),
		crm.LicenseCheck{Now: time.Now(), ServerIPs: []string{"127.0.0.1"}, TenantID: acme.ID})
	require.True(t, status.Valid)
	require.Equal(t, acme.ID, payload.TenantID)

	// The periodic check records its verdict on each license.
	require.NoError(t, checker.Check(context.Background()))
	licenses := env.do(http.MethodGet, "/api/v1/admin/tenants/"+acme.ID.String()+"/licenses", owner, nil).Items()
	require.Len(t, licenses, 1)
	require.Equal(t, "valid", licenses[0]["last_result"])
	require.NotNil(t, licenses[0]["last_verified_at"])

	// The audit log records the issue with the key masked, for the owner and the tenant's admin.
	audit := env.do(http.MethodGet, "/api/v1/admin/audit-log?entity=license&tenant_id="+acme.ID.String(), owner, nil).Items()
	require.Len(t, audit, 1)
	require.Equal(t, "***", audit[0]["after"].(map[string]any)["key"])
	require.NotContains(t, string(mustJSON(t, audit)), license["key"].(string))

	// Revocation takes effect at once on this node.
	res = env.do(http.MethodDelete, "/api/v1/admin/tenants/"+acme.ID.String()+"/licenses/"+license["id"].(string), owner, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.NotNil(t, res.JSON()["revoked_at"])
	require.Equal(t, "revoked", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", acme.AdminToken, nil)))
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/admin/tenants/"+acme.ID.String()+"/licenses/"+crm.NewID().String(), owner, nil).Status)

	// A license for another server.
	beta := env.tenant("beta")
	issueLicenseAPI(t, env, owner, beta, "198.51.100.7", clock.Now().Add(24*time.Hour))
	require.Equal(t, "ip_mismatch", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", beta.AdminToken, nil)))

	// Another tenant's key planted in this tenant's licenses, and a garbage key.
	gamma := env.tenant("gamma")
	other := issueLicenseAPI(t, env, owner, beta, "127.0.0.1", clock.Now().Add(24*time.Hour))
	plant := func(key string) {
		ctx := context.Background()
		require.NoError(t, env.db.PlatformTx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM licenses WHERE tenant_id = $1`, gamma.ID)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO licenses (tenant_id, id, key, server_ip, issued_at, expires_at)
				VALUES ($1, $2, $3, '127.0.0.1', now(), now() + interval '1 day')`, gamma.ID, crm.NewID(), key)
			return err
		}))
		require.NoError(t, checker.Refresh(ctx, gamma.ID))
	}
	plant(other["key"].(string))
	require.Equal(t, "bad_signature", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", gamma.AdminToken, nil)),
		"a key whose license id is not the row's is refused")
	tampered := []byte(other["key"].(string))
	tampered[10] ^= 1
	plant(string(tampered))
	require.Equal(t, "bad_signature", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", gamma.AdminToken, nil)))
	plant("garbage")
	require.Equal(t, "bad_signature", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", gamma.AdminToken, nil)))

	// Another tenant's license, correctly on record under its own id, still
	// does not serve this tenant.
	ctx := context.Background()
	require.NoError(t, env.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM licenses WHERE tenant_id = $1`, gamma.ID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO licenses (tenant_id, id, key, server_ip, issued_at, expires_at)
			VALUES ($1, $2, $3, '127.0.0.1', now(), now() + interval '1 day')`, gamma.ID, crmUUID(t, other["id"].(string)), other["key"])
		return err
	}))
	require.NoError(t, checker.Refresh(ctx, gamma.ID))
	require.Equal(t, "tenant_mismatch", licenseReason(t, env.do(http.MethodGet, "/api/v1/tenant", gamma.AdminToken, nil)))
}

func TestLicenseGracePeriod(t *testing.T) {
	t.Parallel()
	env, clock, _, _ := licensedEnv(t)
	owner := env.superAdmin()
	acme := env.tenant("acme")
	issueLicenseAPI(t, env, owner, acme, "127.0.0.1", clock.Now().Add(time.Hour))

	// Expiring within a week: served, with a warning.
	info := env.do(http.MethodGet, "/api/v1/tenant", acme.AdminToken, nil).JSON()
	require.Equal(t, true, info["warning"])
	require.Equal(t, "license_expiring", info["warnings"].([]any)[0].(map[string]any)["code"])

	// Expired, within the grace period: still served, flagged.
	clock.Advance(2 * time.Hour)
	res := env.do(http.MethodGet, "/api/v1/tenant", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	lic := res.JSON()["license"].(map[string]any)
	require.Equal(t, true, lic["valid"])
	require.Equal(t, true, lic["in_grace"])
	require.Equal(t, true, lic["warning"])
	require.Equal(t, "expired", lic["reason"])
	require.NotNil(t, lic["grace_ends_at"])
	require.Equal(t, "license_grace", res.JSON()["warnings"].([]any)[0].(map[string]any)["code"])
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/users", acme.AdminToken, nil).Status)

	// Grace over: refused, with no new check needed.
	clock.Advance(72 * time.Hour)
	require.Equal(t, "expired", licenseReason(t, env.do(http.MethodGet, "/api/v1/users", acme.AdminToken, nil)))

	// A new license restores service.
	issueLicenseAPI(t, env, owner, acme, "127.0.0.1", clock.Now().Add(365*24*time.Hour))
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/users", acme.AdminToken, nil).Status)
}

func TestLicenseVerifyOnline(t *testing.T) {
	t.Parallel()
	env, clock, _, priv := licensedEnv(t)
	owner := env.superAdmin()
	acme := env.tenant("acme")
	license := issueLicenseAPI(t, env, owner, acme, "127.0.0.1", clock.Now().Add(24*time.Hour))
	key := license["key"].(string)

	verify := func(key string) map[string]any {
		t.Helper()
		res := env.do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": key})
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		return res.JSON()
	}
	got := verify(key)
	require.Equal(t, true, got["valid"])
	require.Equal(t, true, got["known"])
	require.Equal(t, "127.0.0.1", got["checked_ip"])
	require.Equal(t, acme.ID.String(), got["license"].(map[string]any)["tenant_id"])

	tampered := []byte(key)
	tampered[len(tampered)-3] ^= 2
	require.Equal(t, "bad_signature", verify(string(tampered))["reason"])
	require.Equal(t, "bad_signature", verify("garbage.garbage")["reason"])
	require.Nil(t, verify("garbage")["license"])

	// Signed by us but not on record (e.g. its row was lost): valid, unknown.
	unknown, err := crm.SignLicense(priv, crm.LicensePayload{LicenseID: crm.NewID(), TenantID: acme.ID, ServerIP: "10.9.9.9",
		IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	got = verify(unknown)
	require.Equal(t, false, got["known"])
	require.Equal(t, "ip_mismatch", got["reason"], "checked against the caller's address")

	require.Equal(t, http.StatusOK, env.do(http.MethodDelete, "/api/v1/admin/tenants/"+acme.ID.String()+"/licenses/"+license["id"].(string), owner, nil).Status)
	got = verify(key)
	require.Equal(t, false, got["valid"])
	require.Equal(t, true, got["revoked"])
	require.Equal(t, "revoked", got["reason"])

	// Rate limited per address: 20 a minute, then 429 with Retry-After.
	var last response
	for i := 0; i < verifyPerWindow; i++ {
		last = env.do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"})
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status)
	secs, err := strconv.Atoi(last.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, secs, 0)
}

func TestLicenseNotEnforcedWithoutChecker(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	res := env.do(http.MethodGet, "/api/v1/tenant", acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, false, res.JSON()["license"].(map[string]any)["enforced"])
	owner := env.superAdmin()
	res = env.do(http.MethodPost, "/api/v1/admin/tenants/"+acme.ID.String()+"/licenses", owner,
		map[string]any{"server_ip": "127.0.0.1", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	require.Equal(t, "license_signing_unavailable", res.ErrorCode())
	res = env.do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"})
	require.Equal(t, "licensing_unavailable", res.ErrorCode())
}
