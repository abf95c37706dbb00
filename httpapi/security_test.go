package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// refreshCookie is the cookie that holds a browser's refresh token.
const refreshCookie = "crm_refresh"

// cookieNamed is the response's Set-Cookie of that name (nil when none).
func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestSecurityHeadersOnConsoleAndAPI: every answer, the console's HTML and
// the API's JSON (errors and unknown routes included), forbids framing and
// sniffing and keeps the referrer to the origin; the console's CSP runs only
// our own scripts and talks only to its own origin and socket (issue #14,
// item 6).
func TestSecurityHeadersOnConsoleAndAPI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) {
		c.UI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, `<!doctype html><div id="root"></div><script type="module" src="/assets/index.js"></script>`)
		})
	})
	host := strings.TrimPrefix(env.ts.URL, "http://")
	common := func(what string, h http.Header) {
		require.Equal(t, "DENY", h.Get("X-Frame-Options"), what)
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), what)
		require.Equal(t, "same-origin", h.Get("Referrer-Policy"), what)
		require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'", what)
	}
	for _, path := range []string{"/", "/inbox/123", "/login"} {
		res := env.do(http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusOK, res.Status, path)
		common(path, res.Header)
		csp := cspDirectives(res.Header.Get("Content-Security-Policy"))
		require.Equal(t, "'self'", csp["script-src"], path)
		require.Equal(t, "'self'", csp["default-src"], path)
		require.Equal(t, "'none'", csp["object-src"], path)
		require.ElementsMatch(t, []string{"'self'", "ws://" + host, "wss://" + host}, strings.Fields(csp["connect-src"]), path)
		require.NotContains(t, csp["script-src"], "unsafe", path)
	}
	for _, req := range []struct{ method, path, token string }{
		{http.MethodGet, "/api/v1/openapi.json", ""},
		{http.MethodGet, "/api/v1/auth/me", ""}, // 401
		{http.MethodGet, "/api/v1/nothing-here", ""},
		{http.MethodGet, "/healthz", ""},
	} {
		res := env.do(req.method, req.path, req.token, nil)
		common(req.path, res.Header)
		require.Equal(t, "'none'", cspDirectives(res.Header.Get("Content-Security-Policy"))["default-src"], req.path)
	}

	// A Host header cannot write into the policy.
	req, err := http.NewRequest(http.MethodGet, env.ts.URL+"/", nil)
	require.NoError(t, err)
	req.Host = "evil.test; script-src *"
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, "'self'", cspDirectives(res.Header.Get("Content-Security-Policy"))["script-src"])

	// Media URLs are signed on CRM_PUBLIC_URL: its origin may serve images and audio.
	public := newTestEnv(t, func(c *Config) {
		c.PublicURL = "https://crm.example.com/"
		c.UI = http.NotFoundHandler()
	})
	csp := cspDirectives(public.do(http.MethodGet, "/", "", nil).Header.Get("Content-Security-Policy"))
	require.Contains(t, strings.Fields(csp["img-src"]), "https://crm.example.com")
	require.Contains(t, strings.Fields(csp["media-src"]), "https://crm.example.com")
}

func cspDirectives(policy string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name != "" {
			out[name] = strings.TrimSpace(value)
		}
	}
	return out
}

// TestRefreshTokenCookie: login and refresh set the refresh token as an
// HttpOnly, SameSite=Strict cookie scoped to /api/v1/auth (Secure over
// https); refresh works from the cookie alone (and then leaves the token out
// of the body, out of scripts' reach) or from the body alone (API clients);
// logout revokes it and clears the cookie (issue #14, item 6).
func TestRefreshTokenCookie(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.tenant("acme")
	login := func() response {
		res := env.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@acme.test", "password": testPassword})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		return res
	}
	res := login()
	cookie := cookieNamed(res.Header, refreshCookie)
	require.NotNil(t, cookie, "login sets the refresh cookie")
	require.True(t, cookie.HttpOnly)
	require.False(t, cookie.Secure, "plain http: a Secure cookie would never come back")
	require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
	require.Equal(t, "/api/v1/auth", cookie.Path)
	require.Equal(t, int((30 * 24 * 60 * 60)), cookie.MaxAge)
	require.Equal(t, res.JSON()["refresh_token"], cookie.Value, "API clients still get it in the body")

	withCookie := func(path, value string, body any) response {
		return env.doHeaders(http.MethodPost, path, "", body, map[string]string{"Cookie": refreshCookie + "=" + value})
	}
	// From the cookie alone, with an empty body or an empty object.
	res = withCookie("/api/v1/auth/refresh", cookie.Value, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.NotEmpty(t, res.JSON()["access_token"])
	require.NotContains(t, res.JSON(), "refresh_token", "a cookie session's token stays out of the body")
	rotated := cookieNamed(res.Header, refreshCookie)
	require.NotNil(t, rotated)
	require.NotEqual(t, cookie.Value, rotated.Value, "rotated")
	require.True(t, rotated.HttpOnly)
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/auth/me", res.JSON()["access_token"].(string), nil).Status)
	res = withCookie("/api/v1/auth/refresh", rotated.Value, map[string]any{})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	rotated = cookieNamed(res.Header, refreshCookie)
	require.NotNil(t, rotated)

	// No token at all.
	res = env.do(http.MethodPost, "/api/v1/auth/refresh", "", nil)
	require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Body))

	// Logout by the cookie alone: revoked, and the cookie cleared.
	res = withCookie("/api/v1/auth/logout", rotated.Value, nil)
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	cleared := cookieNamed(res.Header, refreshCookie)
	require.NotNil(t, cleared, "logout clears the cookie")
	require.Equal(t, "/api/v1/auth", cleared.Path)
	require.Empty(t, cleared.Value)
	require.Less(t, cleared.MaxAge, 0, "Max-Age=0: delete now")
	res = withCookie("/api/v1/auth/refresh", rotated.Value, nil)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.NotNil(t, cookieNamed(res.Header, refreshCookie), "a dead cookie is cleared")
	require.Empty(t, cookieNamed(res.Header, refreshCookie).Value)

	// From the body alone, as before: the rotated token comes back in the body.
	token := login().JSON()["refresh_token"].(string)
	res = env.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": token})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.NotEmpty(t, res.JSON()["refresh_token"])
	require.NotEqual(t, token, res.JSON()["refresh_token"])

	// Over https the cookie is Secure.
	tls := httptest.NewTLSServer(env.srv.Handler())
	t.Cleanup(tls.Close)
	tlsRes, err := tls.Client().Post(tls.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"admin@acme.test","password":"`+testPassword+`"}`))
	require.NoError(t, err)
	tlsRes.Body.Close()
	require.Equal(t, http.StatusOK, tlsRes.StatusCode)
	secure := cookieNamed(tlsRes.Header, refreshCookie)
	require.NotNil(t, secure)
	require.True(t, secure.Secure)
	// And behind a proxy when CRM_PUBLIC_URL is https.
	public := newTestEnv(t, func(c *Config) { c.PublicURL = "https://crm.example.com" })
	public.tenant("acme")
	res = public.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "admin@acme.test", "password": testPassword})
	require.Equal(t, http.StatusOK, res.Status)
	require.True(t, cookieNamed(res.Header, refreshCookie).Secure)
}
