package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
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
