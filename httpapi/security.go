package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

// apiPolicy is the Content-Security-Policy of everything that is not the
// console (JSON, webhooks, metrics): nothing in it may run or load anything.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// consolePolicy builds the console's Content-Security-Policy. The built
// console is one module script and one stylesheet from /assets, so scripts
// come from our origin only (no inline script, no eval). Styles allow
// 'unsafe-inline': the dialogs' scroll lock (Radix, react-remove-scroll)
// inserts a <style> element at run time; a style cannot run code. Images
// also come from data: URLs (the favicon, the bubble previews) and blob:
// URLs; media may be signed on CRM_PUBLIC_URL's origin when that differs
// from the one the browser uses. connect-src names the socket explicitly:
// older browsers do not count ws:/wss: of the same host as 'self'.
type consolePolicy string // up to connect-src, which ends with the request's host

func newConsolePolicy(publicURL string) consolePolicy {
	media := ""
	if u, err := url.Parse(publicURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && validHost.MatchString(u.Host) {
		media = " " + u.Scheme + "://" + u.Host
	}
	return consolePolicy("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:" + media +
		"; media-src 'self' blob:" + media + "; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'" +
		"; frame-ancestors 'none'; connect-src 'self'")
}

// validHost is a host[:port] that cannot break out of a policy's source list.
var validHost = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

func (p consolePolicy) forHost(host string) string {
	if !validHost.MatchString(host) {
		return string(p)
	}
	return string(p) + " ws://" + host + " wss://" + host
}

// securityHeaders sets, on every answer, the headers that keep the console
// from being framed (clickjacking), answers from being sniffed into another
// type, and URLs (which may carry ids) from leaking to other sites through
// the Referer. Handlers that serve other content (media files) set their own
// policy over this one.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if isAPIPath(c.Request.URL.Path) {
		h.Set("Content-Security-Policy", apiPolicy)
	} else {
		h.Set("Content-Security-Policy", s.consolePolicy.forHost(c.Request.Host))
	}
	c.Next()
}

// refreshCookieName holds a browser's refresh token: HttpOnly, so a script
// injected into the console cannot read it; SameSite=Strict and scoped to
// /api/v1/auth, so it goes only to login, refresh and logout, and never on a
// request another site starts.
const refreshCookieName = "crm_refresh"

// secureRequest reports whether the browser talks to us over https (here,
// through a TLS-terminating proxy, or as CRM_PUBLIC_URL says). A spoofed
// X-Forwarded-Proto only makes the spoofer's own cookie unusable over http.
func (s *Server) secureRequest(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(strings.ToLower(s.cfg.PublicURL), "https://")
}

func (s *Server) setRefreshCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: refreshCookieName, Value: token, Path: "/api/v1/auth",
		MaxAge: int(s.cfg.RefreshTTL.Seconds()), HttpOnly: true, Secure: s.secureRequest(c), SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearRefreshCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: refreshCookieName, Value: "", Path: "/api/v1/auth",
		MaxAge: -1, HttpOnly: true, Secure: s.secureRequest(c), SameSite: http.SameSiteStrictMode})
}

// refreshTokenFromCookie is the refresh token the browser sent, or "".
func refreshTokenFromCookie(c *gin.Context) string {
	v, err := c.Cookie(refreshCookieName)
	if err != nil {
		return ""
	}
	return v
}
