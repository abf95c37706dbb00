package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clientFrom is an HTTP client whose connections leave from the loopback
// address ip (all of 127.0.0.0/8 is loopback), so one test can be several
// real clients at different addresses.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	transport := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

const forgedIP = "203.0.113.50"

// forgedHeaders are the headers frameworks and platforms read a client's
// address from; a client can send any of them.
var forgedHeaders = map[string]string{
	"X-Forwarded-For":         forgedIP,
	"X-Real-IP":               forgedIP,
	"Forwarded":               "for=" + forgedIP,
	"True-Client-IP":          forgedIP,
	"CF-Connecting-IP":        forgedIP,
	"X-Client-IP":             forgedIP,
	"Fly-Client-IP":           forgedIP,
	"X-Appengine-Remote-Addr": forgedIP,
}

// verifyLicenseVia asks the online check about key through client.
func verifyLicenseVia(t *testing.T, env *testEnv, client *http.Client, key string, headers map[string]string) map[string]any {
	t.Helper()
	res := env.doVia(client, http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": key}, headers)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	return res.JSON()
}

// createPlanAuditIP creates a plan with the headers and returns the address
// the audit log recorded for it.
func createPlanAuditIP(t *testing.T, env *testEnv, client *http.Client, owner, name string, headers map[string]string) string {
	t.Helper()
	res := env.doVia(client, http.MethodPost, "/api/v1/admin/plans", owner, planBody(name, 5, 1, 100), headers)
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	id := res.JSON()["id"].(string)
	for _, rec := range env.do(http.MethodGet, "/api/v1/admin/audit-log?entity=plan", owner, nil).Items() {
		if rec["entity_id"] == id {
			return rec["ip"].(string)
		}
	}
	require.FailNow(t, "no audit record for the plan", "plan %s", id)
	return ""
}

// loginVia tries a login through client with the headers.
func loginVia(env *testEnv, client *http.Client, email, password string, headers map[string]string) response {
	env.t.Helper()
	return env.doVia(client, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": email, "password": password}, headers)
}

// TestForwardedHeadersIgnoredByDefault: with no trusted proxy configured, a
// client that claims another address in a header is still known by its TCP
// peer address, for the online license check and the audit log (issue 14.3).
func TestForwardedHeadersIgnoredByDefault(t *testing.T) {
	t.Parallel()
	env, clock, _, _ := licensedEnv(t)
	owner := env.superAdmin()
	acme := env.tenant("acme")

	// A license bound to the forged address is not valid for a caller at 127.0.0.1.
	forged := issueLicenseAPI(t, env, owner, acme, forgedIP, clock.Now().Add(24*time.Hour))["key"].(string)
	got := verifyLicenseVia(t, env, http.DefaultClient, forged, forgedHeaders)
	require.Equal(t, false, got["valid"], "%v", got)
	require.Equal(t, "ip_mismatch", got["reason"])
	require.Equal(t, "127.0.0.1", got["checked_ip"])
	// One bound to the caller's real address is, whatever the headers say.
	real := issueLicenseAPI(t, env, owner, acme, "127.0.0.1", clock.Now().Add(24*time.Hour))["key"].(string)
	got = verifyLicenseVia(t, env, http.DefaultClient, real, forgedHeaders)
	require.Equal(t, true, got["valid"], "%v", got)
	require.Equal(t, "127.0.0.1", got["checked_ip"])

	require.Equal(t, "127.0.0.1", createPlanAuditIP(t, env, http.DefaultClient, owner, "Forged", forgedHeaders))
}

// TestLoginThrottleIgnoresForgedForwardedFor: a client spraying passwords
// across accounts cannot dodge the per-address cap by naming a new address in
// X-Forwarded-For each time (issue 14.3).
func TestLoginThrottleIgnoresForgedForwardedFor(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(cfg *Config) {
		cfg.LoginLimiter = pgLoginLimiter(cfg.DB, LoginLimits{IPFailures: 3}, time.Now)
	})
	env.tenant("acme")
	for i := range 3 {
		res := loginVia(env, http.DefaultClient, fmt.Sprintf("user%d@acme.test", i), "wrong-one",
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1), "X-Real-IP": fmt.Sprintf("198.51.100.%d", i+1)})
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
	}
	res := loginVia(env, http.DefaultClient, "admin@acme.test", testPassword, map[string]string{"X-Forwarded-For": "203.0.113.9"})
	require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
	require.Equal(t, "too_many_attempts", res.ErrorCode())
}

// TestForwardedForHonouredOnlyFromTrustedProxies: behind a proxy listed in
// TrustedProxies, the address it forwards is the client's, for the license
// check, the audit log and the login throttle; the same header from any
// other peer is ignored (issue 14.3).
func TestForwardedForHonouredOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	env, clock, _, _ := licensedEnv(t, func(cfg *Config) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		cfg.LoginLimiter = pgLoginLimiter(cfg.DB, LoginLimits{IPFailures: 3}, time.Now)
	})
	owner := env.superAdmin()
	acme := env.tenant("acme")
	key := issueLicenseAPI(t, env, owner, acme, forgedIP, clock.Now().Add(24*time.Hour))["key"].(string)
	proxy, stranger := http.DefaultClient, clientFrom(t, "127.0.0.2")

	// Through the proxy (127.0.0.1): the forwarded address counts, and only
	// the one the proxy appended, not what the client put before it.
	for _, forwarded := range []string{forgedIP, "198.51.100.7, " + forgedIP} {
		got := verifyLicenseVia(t, env, proxy, key, map[string]string{"X-Forwarded-For": forwarded})
		require.Equal(t, true, got["valid"], "%s: %v", forwarded, got)
		require.Equal(t, forgedIP, got["checked_ip"])
	}
	got := verifyLicenseVia(t, env, proxy, key, map[string]string{"X-Forwarded-For": forgedIP + ", 198.51.100.7"})
	require.Equal(t, "ip_mismatch", got["reason"], "%v", got)
	require.Equal(t, "198.51.100.7", got["checked_ip"])
	require.Equal(t, forgedIP, createPlanAuditIP(t, env, proxy, owner, "Proxied", map[string]string{"X-Forwarded-For": forgedIP}))

	// From a peer that is not a trusted proxy: its own address.
	got = verifyLicenseVia(t, env, stranger, key, forgedHeaders)
	require.Equal(t, "ip_mismatch", got["reason"], "%v", got)
	require.Equal(t, "127.0.0.2", got["checked_ip"])
	require.Equal(t, "127.0.0.2", createPlanAuditIP(t, env, stranger, owner, "Direct", forgedHeaders))

	// The throttle counts per forwarded client: one client behind the proxy
	// reaching the cap does not stop another.
	spray := map[string]string{"X-Forwarded-For": "203.0.113.7"}
	for i := range 3 {
		res := loginVia(env, proxy, fmt.Sprintf("user%d@acme.test", i), "wrong-one", spray)
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
	}
	require.Equal(t, http.StatusTooManyRequests, loginVia(env, proxy, "admin@acme.test", testPassword, spray).Status)
	res := loginVia(env, proxy, "admin@acme.test", testPassword, map[string]string{"X-Forwarded-For": "203.0.113.8"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
}
