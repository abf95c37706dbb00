package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm/persistence/pgtest"
)

// TestServeEndToEnd starts a whole node on port 0 with a fresh database,
// seeds the demo and talks to it like a client.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{
			"DATABASE_URL":   url,
			"CRM_HTTP_ADDR":  "127.0.0.1:0",
			"CRM_SECRET_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		}[k]
	})
	require.NoError(t, err)
	ctx := context.Background()
	n, err := Start(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer n.Shutdown(ctx) //nolint:errcheck
	base := "http://" + n.Addr()

	var out bytes.Buffer
	require.NoError(t, seedDemo(ctx, n, cfg, &out))
	require.NoError(t, seedDemo(ctx, n, cfg, &out), "seeding is idempotent")
	require.Contains(t, out.String(), demoAdminEmail)
	require.Contains(t, out.String(), base)

	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.json"} {
		res, err := http.Get(base + path)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
	}
	for _, email := range []string{demoSuperEmail, demoAdminEmail, demoAgentEmail} {
		body, _ := json.Marshal(map[string]string{"email": email, "password": demoPassword})
		res, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", email, raw)
	}
	// The console (or its not-built page) answers client routes.
	res, err := http.Get(base + "/inbox/some-conversation")
	require.NoError(t, err)
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.Contains(string(raw), "<html") || strings.Contains(string(raw), "<!doctype"), string(raw))

	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(shutdownCtx))
	require.NoError(t, n.Shutdown(shutdownCtx), "shutdown is safe to call twice")
}

func TestConfigSecretKey(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(func(string) string { return "" })
	require.ErrorContains(t, err, "CRM_SECRET_KEY")
	_, err = LoadConfig(func(k string) string {
		if k == "CRM_SECRET_KEY" {
			return "short"
		}
		return ""
	})
	require.ErrorContains(t, err, "32 bytes")
	cfg, err := LoadConfig(func(k string) string {
		if k == "CRM_SECRET_KEY" {
			return strings.Repeat("ab", 32)
		}
		return ""
	})
	require.NoError(t, err)
	require.Len(t, cfg.SecretKey, 32)
	require.Equal(t, ":8080", cfg.HTTPAddr)
	require.NotEqual(t, cfg.subkey("a"), cfg.subkey("b"))
}

// TestConfigTrustedProxies: CRM_TRUSTED_PROXIES is a list of CIDRs or single
// addresses, empty by default (no forwarding header believed); anything else
// stops the node at start with the variable's name and the bad entry.
func TestConfigTrustedProxies(t *testing.T) {
	t.Parallel()
	load := func(proxies string) (Config, error) {
		return LoadConfig(func(k string) string {
			return map[string]string{"CRM_SECRET_KEY": strings.Repeat("ab", 32), "CRM_TRUSTED_PROXIES": proxies}[k]
		})
	}
	cfg, err := load("")
	require.NoError(t, err)
	require.Empty(t, cfg.TrustedProxies)
	cfg, err = load(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,, 172.16.5.9/12")
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("172.16.0.0/12")}, cfg.TrustedProxies)
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8;192.0.2.1", "*"} {
		_, err := load(bad)
		require.ErrorContains(t, err, "CRM_TRUSTED_PROXIES", bad)
	}
	_, err = load("10.0.0.0/8, 300.1.1.1")
	require.ErrorContains(t, err, `"300.1.1.1"`)
}

// TestConfigSMTP: no CRM_SMTP_URL, no mailer; a good one builds it (the
// sender defaulting to no-reply@ the public host); a bad one stops the node
// at start without repeating the password.
func TestConfigSMTP(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (Config, error) {
		return LoadConfig(func(k string) string {
			if k == "CRM_SECRET_KEY" {
				return strings.Repeat("ab", 32)
			}
			return env[k]
		})
	}
	cfg, err := load(nil)
	require.NoError(t, err)
	require.Nil(t, cfg.Mailer)
	require.Nil(t, mailerOrNil(cfg.Mailer), "no mailer is a nil interface, so the server logs the links")
	cfg, err = load(map[string]string{"CRM_SMTP_URL": "smtps://crm:s3cret@mail.example.com", "CRM_PUBLIC_URL": "https://crm.example.com"})
	require.NoError(t, err)
	require.Equal(t, "smtps://mail.example.com", cfg.Mailer.String())
	_, err = load(map[string]string{"CRM_SMTP_URL": "smtp://crm:s3cret@mail.example.com?tls=maybe"})
	require.ErrorContains(t, err, "CRM_SMTP_URL")
	require.NotContains(t, err.Error(), "s3cret")
	_, err = load(map[string]string{"CRM_SMTP_URL": "smtp://mail.example.com", "CRM_SMTP_FROM": "not an address"})
	require.ErrorContains(t, err, "CRM_SMTP_FROM")
}

// TestStartFailsCleanly: a node that cannot start says why and leaves
// nothing running (it used to panic while undoing a half-started node).
func TestStartFailsCleanly(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{
			"DATABASE_URL":   pgtest.URLFor("crm_no_such_database"),
			"CRM_HTTP_ADDR":  "127.0.0.1:0",
			"CRM_SECRET_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		}[k]
	})
	require.NoError(t, err)
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.Nil(t, n)
	require.ErrorContains(t, err, "crm_no_such_database")
}

// TestDemoLicenseWorksAtOnce: with licenses enforced (as make run sets them
// up), the demo tenant is usable as soon as the demo is seeded, not after the
// checker's next hourly pass, even when ./var/license.key was replaced and the
// database still holds licenses signed by the old key.
func TestDemoLicenseWorksAtOnce(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		_, private, err := ed25519.GenerateKey(nil)
		require.NoError(t, err)
		env := map[string]string{
			"DATABASE_URL":            dbURL,
			"CRM_HTTP_ADDR":           "127.0.0.1:0",
			"CRM_SECRET_KEY":          "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
			"CRM_LICENSE_SIGNING_KEY": base64.StdEncoding.EncodeToString(private),
			"CRM_SERVER_IP":           "203.0.113.7",
			"CRM_MEDIA_DIR":           t.TempDir(),
		}
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		require.NoError(t, err)
		n, err := Start(ctx, cfg, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		if round == 1 {
			// Let the start-up check see the old license (signed by the other key) first.
			require.Eventually(t, func() bool {
				id, err := n.db.TenantBySlug(ctx, "demo")
				if err != nil {
					return false
				}
				st, err := n.checker.State(ctx, id)
				return err == nil && !st.Valid
			}, 10*time.Second, 20*time.Millisecond)
		}
		require.NoError(t, seedDemo(ctx, n, cfg, io.Discard))
		token := login(t, "http://"+n.Addr(), demoAdminEmail)
		req, _ := http.NewRequest(http.MethodGet, "http://"+n.Addr()+"/api/v1/tenant", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "round %d: %s", round, body)
		require.Contains(t, string(body), `"valid":true`)
		shutdownCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		require.NoError(t, n.Shutdown(shutdownCtx))
		cancel()
	}
}
