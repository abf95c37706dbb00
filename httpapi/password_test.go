package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/mail"
	"crm/mail/mailtest"
)

// withSMTP points the server's mailer at a local SMTP sink.
func withSMTP(t *testing.T, sink *mailtest.Sink) func(*Config) {
	return func(c *Config) {
		m, err := mail.NewSMTP(mail.Config{URL: sink.URL, From: "CRM <no-reply@crm.test>", Timeout: 5 * time.Second})
		require.NoError(t, err)
		c.Mailer = m
	}
}

var resetLinkPattern = regexp.MustCompile(`(https?://\S+)/redefinir-senha\?token=(\S+)`)

// resetTokenIn finds the reset link in a text and returns its token.
func resetTokenIn(t *testing.T, env *testEnv, text string) string {
	t.Helper()
	m := resetLinkPattern.FindStringSubmatch(text)
	require.NotNil(t, m, "no reset link in %q", text)
	require.Equal(t, env.srv.cfg.PublicURL, m[1], "the link points at the public URL")
	token, err := url.QueryUnescape(m[2])
	require.NoError(t, err)
	return token
}

// loginTokens logs in and returns the access and refresh tokens.
func loginTokens(t *testing.T, env *testEnv, email, password string) (access, refresh string) {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": email, "password": password})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON()["access_token"].(string), res.JSON()["refresh_token"].(string)
}

func fieldMessage(res response, field string) string {
	var body struct {
		Error struct {
			Details struct {
				Fields map[string]string `json:"fields"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(res.Body, &body)
	return body.Error.Details.Fields[field]
}

func TestForgotPasswordMailsASingleUseLink(t *testing.T) {
	t.Parallel()
	sink := mailtest.Start(t)
	logs := &syncBuffer{}
	clock := &testClock{now: time.Now()}
	env := newTestEnv(t, withSMTP(t, sink), func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Now = clock.Now
	})
	acme := env.tenant("acme")
	oldAccess, oldRefresh := loginTokens(t, env, acme.AdminEmail, testPassword)

	// Unknown and known emails get the same answer; only the known one gets mail.
	unknown := env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": "nobody@acme.test"})
	require.Equal(t, http.StatusAccepted, unknown.Status, string(unknown.Body))
	known := env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": "  ADMIN@acme.test "})
	require.Equal(t, http.StatusAccepted, known.Status, string(known.Body))
	require.Equal(t, string(unknown.Body), string(known.Body))
	msg := sink.Wait(t, acme.AdminEmail, 10*time.Second)
	require.Contains(t, msg.Subject, "Redefinição de senha")
	require.Contains(t, msg.Text, "30 minutos")
	token := resetTokenIn(t, env, msg.Text)
	for _, m := range sink.Messages() {
		require.NotContains(t, m.To, "nobody@acme.test")
	}

	// Hashed at rest: the row holds SHA-256 of the token, not the token.
	sum := sha256.Sum256([]byte(token))
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		var stored []byte
		var all string
		if err := tx.QueryRow(ctx, `SELECT token_hash, r::text FROM password_resets r WHERE user_id = $1`, acme.AdminID).
			Scan(&stored, &all); err != nil {
			return err
		}
		require.Equal(t, sum[:], stored)
		require.NotContains(t, all, strings.SplitN(token, ".", 2)[1])
		return nil
	}))
	require.NotContains(t, logs.String(), strings.SplitN(token, ".", 2)[1], "with SMTP the link is never logged")

	// A weak password is refused like on user creation, and the link still works after.
	weak := env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": "short"})
	require.Equal(t, http.StatusBadRequest, weak.Status)
	require.Equal(t, "must have at least 8 characters", fieldMessage(weak, "password"))

	const newPassword = "a brand new password"
	res := env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": newPassword})
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))

	// The new password works, the old one does not; every session is gone.
	loginTokens(t, env, acme.AdminEmail, newPassword)
	old := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": acme.AdminEmail, "password": testPassword})
	require.Equal(t, http.StatusUnauthorized, old.Status)
	refreshed := env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": oldRefresh})
	require.Equal(t, http.StatusUnauthorized, refreshed.Status, string(refreshed.Body))
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodGet, "/api/v1/auth/me", oldAccess, nil).Status)

	// Single use.
	again := env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": "yet another password"})
	require.Equal(t, http.StatusBadRequest, again.Status)
	require.Equal(t, "invalid_reset_token", again.ErrorCode())
	require.NotEmpty(t, fieldMessage(again, "token"))

	// A newer link replaces the older one.
	first := forgotAndWait(t, env, sink, acme.AdminEmail, 2)
	second := forgotAndWait(t, env, sink, acme.AdminEmail, 3)
	require.NotEqual(t, first, second)
	res = env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": first, "password": "the first link's password"})
	require.Equal(t, "invalid_reset_token", res.ErrorCode())

	// Expired after 30 minutes.
	clock.Advance(31 * time.Minute)
	res = env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": second, "password": "too late password"})
	require.Equal(t, "invalid_reset_token", res.ErrorCode())
	loginTokens(t, env, acme.AdminEmail, newPassword)

	// Audited in the tenant's log.
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		var requested, reset int
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'password_reset_requested'),
			count(*) FILTER (WHERE action = 'password_reset') FROM audit_log WHERE entity = 'user' AND entity_id = $1`,
			acme.AdminID).Scan(&requested, &reset); err != nil {
			return err
		}
		require.Equal(t, 3, requested)
		require.Equal(t, 1, reset)
		return nil
	}))
}

// forgotAndWait asks for a link and waits for the n-th mail to email.
func forgotAndWait(t *testing.T, env *testEnv, sink *mailtest.Sink, email string, n int) string {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": email})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	var got []mailtest.Message
	checkFor(t, 10*time.Second, func() error {
		got = got[:0]
		for _, m := range sink.Messages() {
			if len(m.To) == 1 && m.To[0] == email {
				got = append(got, m)
			}
		}
		if len(got) < n {
			return errors.New("not yet")
		}
		return nil
	})
	return resetTokenIn(t, env, got[n-1].Text)
}

func TestForgotPasswordIsThrottledAndValidated(t *testing.T) {
	t.Parallel()
	// A clock that stands still: the throttle's waits never run out under a slow machine.
	clock := &testClock{now: time.Now()}
	env := newTestEnv(t, func(c *Config) { c.Now = clock.Now })
	env.tenant("acme")
	res := env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": ""})
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Equal(t, "is required", fieldMessage(res, "email"))
	res = env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": strings.Repeat("a", 250) + "@x.test"})
	require.Equal(t, http.StatusBadRequest, res.Status)
	res = env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": "a@x.test", "extra": 1})
	require.Equal(t, http.StatusBadRequest, res.Status)

	// The same answer for a known and an unknown email, until the throttle
	// answers 429 for both alike.
	for _, email := range []string{"admin@acme.test", "ghost@acme.test"} {
		statuses := []int{}
		for range 5 {
			statuses = append(statuses, env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": email}).Status)
		}
		require.Equal(t, []int{202, 202, 202, 429, 429}, statuses, email)
	}
	res = env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": "ghost@acme.test"})
	require.Equal(t, "too_many_attempts", res.ErrorCode())
	require.NotNil(t, res.JSON()["error"].(map[string]any)["details"].(map[string]any)["retry_after_seconds"])

	// Reset tokens of the wrong shape, or naming a tenant that holds no such
	// token, are just invalid; after three the address waits, as for logins.
	tenantID := env.tenant("other").ID.String()
	statuses := []int{}
	for _, bogus := range []string{"nonsense", "p." + strings.Repeat("A", 43), tenantID + "." + strings.Repeat("A", 43),
		tenantID + "." + strings.Repeat("B", 43), "p." + strings.Repeat("C", 43)} {
		res := env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": bogus, "password": "whatever password"})
		statuses = append(statuses, res.Status)
		if res.Status == http.StatusBadRequest {
			require.Equal(t, "invalid_reset_token", res.ErrorCode(), bogus)
		}
	}
	require.Equal(t, []int{400, 400, 400, 400, 429}, statuses, "the malformed one costs no hash and is not counted")
}

func TestForgotPasswordWithoutSMTPLogsTheLink(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	env := newTestEnv(t, func(c *Config) { c.Log = slog.New(slog.NewTextHandler(logs, nil)) })
	acme := env.tenant("acme")
	res := env.do(http.MethodPost, "/api/v1/auth/password/forgot", "", map[string]any{"email": acme.AdminEmail})
	require.Equal(t, http.StatusAccepted, res.Status)
	var line string
	checkFor(t, 10*time.Second, func() error {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "PASSWORD RESET LINK") {
				line = l
				return nil
			}
		}
		return errors.New("not yet")
	})
	require.Contains(t, line, "level=INFO")
	require.Contains(t, line, acme.AdminEmail)
	token := resetTokenIn(t, env, strings.ReplaceAll(line, `"`, " "))
	res = env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": "from the log file"})
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	loginTokens(t, env, acme.AdminEmail, "from the log file")
}

func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	access, keep := loginTokens(t, env, acme.AdminEmail, testPassword)
	_, other := loginTokens(t, env, acme.AdminEmail, testPassword)
	cookie := map[string]string{"Cookie": refreshCookieName + "=" + keep}
	change := func(current, next string) response {
		return env.doHeaders(http.MethodPost, "/api/v1/auth/me/password", access,
			map[string]any{"current_password": current, "new_password": next}, cookie)
	}

	res := change("not my password", "a brand new password")
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Equal(t, "wrong_password", res.ErrorCode())
	require.Equal(t, "is not your current password", fieldMessage(res, "current_password"))
	res = change(testPassword, "short")
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Equal(t, "must have at least 8 characters", fieldMessage(res, "new_password"))
	res = change("", "a brand new password")
	require.Equal(t, "is required", fieldMessage(res, "current_password"))

	res = change(testPassword, "a brand new password")
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	// This session goes on; the other is signed out; the new password works.
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", access, nil).Status)
	require.Equal(t, http.StatusOK, env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": keep}).Status)
	require.Equal(t, http.StatusUnauthorized, env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": other}).Status)
	loginTokens(t, env, acme.AdminEmail, "a brand new password")

	// A super admin changes theirs too.
	owner := env.superAdmin()
	res = env.do(http.MethodPost, "/api/v1/auth/me/password", owner, map[string]any{"current_password": testPassword, "new_password": "owner's new password"})
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	loginTokens(t, env, "owner@platform.test", "owner's new password")

	// Audited.
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'password_change' AND entity_id = $1 AND actor_id = $1`,
			acme.AdminID).Scan(&n); err != nil {
			return err
		}
		require.Equal(t, 1, n)
		return nil
	}))
}

func TestChangeOwnPasswordIsThrottled(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Now()}
	env := newTestEnv(t, func(c *Config) { c.Now = clock.Now })
	acme := env.tenant("acme")
	statuses := []int{}
	for range 5 {
		statuses = append(statuses, env.do(http.MethodPost, "/api/v1/auth/me/password", acme.AdminToken,
			map[string]any{"current_password": "guess", "new_password": "a brand new password"}).Status)
	}
	require.Equal(t, []int{400, 400, 400, 429, 429}, statuses)
}

func TestPlatformOwnerResetsATenantAdmin(t *testing.T) {
	t.Parallel()
	sink := mailtest.Start(t)
	env := newTestEnv(t, withSMTP(t, sink))
	acme := env.tenant("acme")
	other := env.tenant("other")
	agentID, agent := env.user(acme, "AGENT", "Agent")
	owner := env.superAdmin()

	res := env.do(http.MethodGet, "/api/v1/admin/tenants/"+acme.ID.String()+"/admins", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	items := res.Items()
	require.Len(t, items, 1)
	require.Equal(t, acme.AdminID.String(), items[0]["id"])
	require.Equal(t, acme.AdminEmail, items[0]["email"])
	require.NotContains(t, string(res.Body), "password")
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/admin/tenants/"+crm.NewID().String()+"/admins", owner, nil).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/admin/tenants/"+acme.ID.String()+"/admins", acme.AdminToken, nil).Status)

	path := func(tenant, user string) string {
		return "/api/v1/admin/tenants/" + tenant + "/admins/" + user + "/password-reset"
	}
	// Only an admin of that very tenant.
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, path(acme.ID.String(), agentID.String()), owner, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, path(acme.ID.String(), other.AdminID.String()), owner, nil).Status)
	require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, path(acme.ID.String(), acme.AdminID.String()), agent, nil).Status)

	res = env.do(http.MethodPost, path(acme.ID.String(), acme.AdminID.String()), owner, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, res.JSON()["sent"])
	require.Nil(t, res.JSON()["link"], "with SMTP the link goes only by mail")
	token := resetTokenIn(t, env, sink.Wait(t, acme.AdminEmail, 10*time.Second).Text)
	res = env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": "reset by the owner"})
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	loginTokens(t, env, acme.AdminEmail, "reset by the owner")

	// On the platform log and on the tenant's own.
	ctx := context.Background()
	require.NoError(t, env.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM platform_audit_log WHERE action = 'password_reset_requested'
			AND entity_id = $1 AND tenant_ref = $2`, acme.AdminID, acme.ID).Scan(&n); err != nil {
			return err
		}
		require.Equal(t, 1, n)
		return tx.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'password_reset_requested'
			AND actor_role = 'SUPER_ADMIN'`, acme.ID).Scan(&n)
	}))
}

func TestPlatformResetWithoutSMTPAnswersTheLinkOnce(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	env := newTestEnv(t, func(c *Config) { c.Log = slog.New(slog.NewTextHandler(logs, nil)) })
	acme := env.tenant("acme")
	owner := env.superAdmin()
	res := env.do(http.MethodPost, "/api/v1/admin/tenants/"+acme.ID.String()+"/admins/"+acme.AdminID.String()+"/password-reset", owner, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, false, res.JSON()["sent"])
	token := resetTokenIn(t, env, res.JSON()["link"].(string))
	require.NotContains(t, logs.String(), strings.SplitN(token, ".", 2)[1])
	res = env.do(http.MethodPost, "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": "given by the owner"})
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
}
